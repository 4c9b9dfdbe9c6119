"""`scrapy reextract`: derive the texts again from the archive, without touching the network.

    scrapy reextract                          # every article URL, from its newest capture
    scrapy reextract --stale                  # URLs whose text an older extractor made
    scrapy reextract --site vov --since 2025-01-01 --url-pattern '/the-gioi/'
    scrapy reextract --run 12 --workers 2

Prints what changed: unchanged, changed, new (no text before), failed (by reason), and the
captures skipped because a newer capture of their URL exists. A page still extracting after
EXTRACT_TIMEOUT seconds has its worker killed, and is retried once alone before it is recorded
`timeout`. Exit status (crawler.exitcodes):
0 finished (pages that could not be extracted are counted, not a failed run); 1 a record
could not be read (an archive file moved, changed or damaged), or the catalogue or EXTRACT_TEXT_DIR
cannot be used (one line says why); 2 bad arguments.

With FRONTIER_URL set, every process started with the same options (on any machine sharing
the catalogue, the archive and EXTRACT_TEXT_DIR) takes part of one shared job through Redis
(crawler.reextract.shared) and exits when the whole job is filed; its report counts its share.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import redis
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable, one_line_errors, opened, without_credentials
from crawler.extraction.article import EXTRACTOR_VERSION
from crawler.extraction.workers import RESTARTS, TIMEOUTS
from crawler.profiles import ExtractHints, profiles_of
from crawler.reextract.progress import make_progress
from crawler.reextract.run import Extractor, Filer, Tally, chunks, reextract
from crawler.reextract.select import Selected, select_work
from crawler.reextract.shared import reextract_shared
from crawler.selection import add_selection_options, selection_of
from crawler.sharedtasks import shared_tasks
from storage.catalogue.db import open_catalogue
from storage.catalogue.filing import writable_folder


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Extract the article texts again from the archived captures (no network)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_selection_options(parser)
        parser.add_argument("--stale", action="store_true",
                            help=f"only URLs whose text another extractor version made "
                                 f"(current: {EXTRACTOR_VERSION})")
        parser.add_argument("--workers", type=int, default=0,
                            help="worker processes (default: EXTRACT_WORKERS, 0 = one per core)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments {args}: reextract takes options only")
        with one_line_errors("reextract"):
            self.exitcode = int(self._reextract(opts))

    def _reextract(self, opts: argparse.Namespace) -> ExitCode:
        settings = self.settings
        profiles = profiles_of(settings)
        selection = selection_of(opts, profiles, stale_against=EXTRACTOR_VERSION if opts.stale else None)
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        text_dir = opened(lambda: writable_folder(Path(setting(settings, "EXTRACT_TEXT_DIR", str))), url)
        started = time.monotonic()
        with sessions() as session:
            selected = opened(lambda: select_work(session, selection, profiles), url)
        items = selected.items + selected.unresolved
        hints: dict[str | None, ExtractHints] = {name: p.extract for name, p in profiles.items()}
        hints[None] = ExtractHints()
        workers = opts.workers or setting(settings, "EXTRACT_WORKERS", int) or os.cpu_count() or 1
        workers = max(1, min(workers, sum(1 for _ in chunks(items))))
        extractor = Extractor(hints, setting(settings, "EXTRACT_MAX_BYTES", int),
                              Path(setting(settings, "WARC_DIR", str)))
        filer = Filer(sessions, text_dir, setting(settings, "REEXTRACT_BATCH", int))
        timeout = setting(settings, "EXTRACT_TIMEOUT", float)
        shared = shared_tasks(self.settings, "reextract", site=opts.site, run=opts.run,
                              since=opts.since, until=opts.until, url_pattern=opts.url_pattern,
                              stale=opts.stale, catalogue=without_credentials(url),
                              texts=str(text_dir.resolve()), extractor=EXTRACTOR_VERSION)
        progress = make_progress(len(items), "reextract")
        if shared is None:
            events = opened(lambda: reextract(items, extractor, filer, workers, progress, timeout), url)
        else:
            try:
                events, done = opened(lambda: reextract_shared(items, extractor, filer, workers, progress,
                                                         timeout, shared), url)
            except redis.RedisError as error:
                raise Unusable(f"FRONTIER_URL: Redis failed during the job ({error}); what was filed "
                               "stays filed: run the command again to finish") from error
        print(report(filer.tally, selected, time.monotonic() - started, workers, events))
        if shared is not None:
            print(f"Shared job {shared.prefix} (FRONTIER_URL): done; this process filed {done} of "
                  f"its {shared.state().total} tasks")
        return ExitCode.FAILED if filer.tally.failed.get("read_error") else ExitCode.OK


def report(tally: Tally, selected: Selected, elapsed: float, workers: int,
           events: Counter[str] | None = None) -> str:
    """The summary: one count per line, so scripts (and the tests) can read it."""
    done = tally.done
    rate = done / elapsed if elapsed > 0 else 0.0
    reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(tally.failed.items()))
    lines = [
        f"Re-extracted {done} captures in {elapsed:.1f} s ({rate:.1f} pages/s, {workers} workers), "
        f"extractor {EXTRACTOR_VERSION}",
        f"  unchanged      {tally.unchanged}",
        f"  changed        {tally.changed}",
        f"  new            {tally.new}",
        f"  failed         {sum(tally.failed.values())}" + (f"  ({reasons})" if reasons else ""),
        f"  superseded     {selected.superseded}  (a newer capture of the same URL is the one extracted)",
        f"  files written  {tally.files_written}",
    ]
    events = events or Counter()
    if events[TIMEOUTS]:
        lines.append(f"  timeouts       {events[TIMEOUTS]}  (a page ran past EXTRACT_TIMEOUT: "
                     f"its worker was killed)")
    if events[RESTARTS]:
        lines.append(f"  worker restarts  {events[RESTARTS]}  (a worker died or was killed: its "
                     f"pages were retried alone)")
    return "\n".join(lines)
