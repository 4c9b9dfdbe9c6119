"""`scrapy summary`: what a crawl run archived, and where it all lives."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from scrapy.commands import ScrapyCommand
from sqlalchemy.engine import make_url

from crawler.config import setting
from crawler.exitcodes import one_line_errors, opened
from storage.catalogue import frontier, repository, runs
from storage.catalogue.db import open_catalogue
from storage.catalogue.frontier import HeldBack


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Summarise a crawl run: pages, WARC files, captures, texts, failures"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--run", type=int, help="crawl run id (default: the latest)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        with one_line_errors("summary"):
            self._summary(opts)

    def _summary(self, opts: argparse.Namespace) -> None:
        settings = self.settings
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        with sessions() as session:
            run = runs.crawl_run(session, opts.run)
            if run is None:
                print("No crawl run in the catalogue yet.")
                self.exitcode = 1
                return
            captures = repository.captures_of_run(session, run.id)
            documents = repository.documents_of_run(session, run.id)
            failures = repository.failures_of_run(session, run.id)
            failing = frontier.failing(session, run.site)
        warc_dir = Path(setting(settings, "WARC_DIR", str))
        text_dir = Path(setting(settings, "EXTRACT_TEXT_DIR", str))
        warc_files = sorted({capture.warc_file for capture in captures})
        warc_bytes = sum(_size(warc_dir / name) for name in warc_files)
        statuses = Counter(capture.status for capture in captures)
        reasons = Counter(failure.reason for failure in failures)
        lines = [
            f"Crawl run {run.id} ({run.spider}, {run.status}), "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC",
            f"  pages fetched        {len(captures)}  (HTTP status: "
            + ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items())) + ")",
            f"  WARC files           {len(warc_files)}, {warc_bytes:,} bytes  in {warc_dir}",
            f"  captures catalogued  {len(captures)}  in {_safe_url(setting(settings, 'DATABASE_URL', str))}",
            f"  text files written   {len(documents)}  in {text_dir}",
            f"  extraction failures  {len(failures)}"
            + (f"  ({', '.join(f'{r}: {n}' for r, n in sorted(reasons.items()))})" if reasons else ""),
        ]
        lines += [f"    {name}" for name in warc_files]
        blocked = sum(capture.blocked is not None for capture in captures)
        lines.append(f"  bot challenges       {blocked}")
        lines += failing_lines(failing)
        print("\n".join(lines))


def failing_lines(failing: dict[str, HeldBack], shown: int = 20) -> list[str]:
    """The site's URLs whose last fetch failed, by reason; the first few named."""
    given_up = Counter(held.reason for held in failing.values() if held.gave_up_at)
    backing_off = Counter(held.reason for held in failing.values() if not held.gave_up_at)
    lines = [f"  URLs failing         {len(failing)}  (backing off: "
             + (", ".join(f"{r}: {n}" for r, n in sorted(backing_off.items())) or "none")
             + "; given up: " + (", ".join(f"{r}: {n}" for r, n in sorted(given_up.items()))
                                 or "none") + ")"]
    for url, held in list(failing.items())[:shown]:
        when = f"given up {held.gave_up_at:%Y-%m-%d %H:%M}" if held.gave_up_at else \
            f"next try after {held.retry_at:%Y-%m-%d %H:%M}" if held.retry_at else "due"
        lines.append(f"    {held.reason:<20} {held.attempts} tries, {when} UTC  {url[:150]}")
    if len(failing) > shown:
        lines.append(f"    ... and {len(failing) - shown} more (the frontier table has them all)")
    return lines


def _size(path: Path) -> int:
    for candidate in (path, path.with_name(path.name + ".open")):
        if candidate.exists():
            return candidate.stat().st_size
    return 0


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
