"""`scrapy schedule`: run each site's crawl on its cron schedule, in the foreground.

Schedules come from the SCHEDULE_CRAWLS setting: site -> cron expression, or site -> {"cron":
..., "args": {spider arguments}, "settings": {Scrapy settings}}. Each crawl runs as its
own `scrapy crawl` process, so a failed or crashed run is logged and the scheduler goes
on. Two runs of one site never overlap: the crawl itself holds the site's lock.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from croniter import croniter
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import ExitCode

logger = logging.getLogger(__name__)


@dataclass
class Schedule:
    site: str
    cron: str
    args: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, site: str, entry: Any) -> Schedule:
        if isinstance(entry, str):
            entry = {"cron": entry}
        if not isinstance(entry, dict) or not croniter.is_valid(entry.get("cron", "")):
            raise UsageError(f"SCHEDULE_CRAWLS[{site!r}] needs a valid cron expression, e.g. "
                             f'"0 * * * *" or {{"cron": "0 * * * *", "args": {{...}}}}; got {entry!r}')
        return cls(site, entry["cron"], dict(entry.get("args", {})), dict(entry.get("settings", {})))

    def next_after(self, moment: datetime) -> datetime:
        return croniter(self.cron, moment).get_next(datetime)

    def command(self) -> list[str]:
        options = [a for k, v in self.args.items() for a in ("-a", f"{k}={v}")]
        options += [a for k, v in self.settings.items() for a in ("-s", f"{k}={v}")]
        return [sys.executable, "-m", "scrapy", "crawl", self.site, *options]


class Command(ScrapyCommand):
    requires_project = True

    def short_desc(self) -> str:
        return "Run each site's crawl on its cron schedule (SCHEDULE_CRAWLS), in the foreground"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--run-now", action="store_true",
                            help="run every site once at start, then follow the schedules")
        parser.add_argument("--max-runs", type=int, default=0,
                            help="stop after this many crawls (default: run for ever)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        schedules = [Schedule.parse(site, entry)
                     for site, entry in setting(self.settings, "SCHEDULE_CRAWLS", dict).items()]
        if not schedules:
            raise UsageError("SCHEDULE_CRAWLS is empty: set it, e.g. "
                             "-s 'SCHEDULE_CRAWLS={\"vov\": \"0 * * * *\"}'")
        now = datetime.now(UTC)
        due = {s.site: now if opts.run_now else s.next_after(now) for s in schedules}
        runs = 0
        while not opts.max_runs or runs < opts.max_runs:
            schedule = min(schedules, key=lambda s: due[s.site])
            wait = (due[schedule.site] - datetime.now(UTC)).total_seconds()
            if wait > 0:
                logger.info("Next: %s at %s UTC", schedule.site, f"{due[schedule.site]:%Y-%m-%d %H:%M}")
                time.sleep(wait)
            run_once(schedule)
            runs += 1
            due[schedule.site] = schedule.next_after(datetime.now(UTC))


def run_once(schedule: Schedule) -> int:
    """One crawl of one site; its failure is logged, never raised."""
    started = time.monotonic()
    logger.info("Starting the %s crawl: %s", schedule.site, " ".join(schedule.command()[3:]))
    try:
        code = subprocess.run(schedule.command(), check=False).returncode
    except OSError as error:
        logger.error("Could not start the %s crawl: %s", schedule.site, error)
        return -1
    took = time.monotonic() - started
    if code == ExitCode.OK:
        logger.info("The %s crawl finished in %.0f s", schedule.site, took)
    elif code == ExitCode.LOCKED:
        logger.warning("The %s crawl did not run: another run still holds the site (exit "
                       "status %d); the schedule goes on", schedule.site, code)
    else:
        why = "the site answered with bot challenges" if code == ExitCode.BLOCKED else \
            "see its log"
        logger.error("The %s crawl failed (exit status %d: %s) after %.0f s; the schedule goes "
                     "on", schedule.site, code, why, took)
    return code
