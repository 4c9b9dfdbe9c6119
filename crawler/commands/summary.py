"""`scrapy summary`: what a crawl run archived, what it did to the site's articles, how fast,
and where it all lives. Every figure is counted by the catalogue (storage.catalogue.history)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from scrapy.commands import ScrapyCommand

from crawler.config import setting
from crawler.exitcodes import one_line_errors, opened, without_credentials
from storage.catalogue import history, runs
from storage.catalogue.db import open_catalogue
from storage.catalogue.history import RunFigures, Shown
from storage.catalogue.models import CrawlRun


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Summarise a crawl run: pages, articles, speed, WARC files, texts, failures"

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
                print("No crawl run in the catalogue yet." if opts.run is None
                      else f"No crawl run {opts.run} in the catalogue.")
                self.exitcode = 1
                return
            figures = history.run_figures(session, run)
            warc_files = history.warc_files_of_run(session, run.id)
            documents = history.documents_made_in_run(session, run.id)
            reasons = history.failures_by_reason(session, run_id=run.id)
            failing, failing_counts = history.site_failing(session, run.site, limit=20)
            workers = [] if run.job_id is None else history.job_figures(session, run.site, run.job_id)
        warc_dir = Path(setting(settings, "WARC_DIR", str))
        text_dir = Path(setting(settings, "EXTRACT_TEXT_DIR", str))
        warc_bytes = sum(_size(warc_dir / name) for name in warc_files)
        lines = [
            f"Crawl run {run.id} ({run.spider}, {run.status}), "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC",
            f"  pages fetched        {figures.captures}  (HTTP status: "
            + ", ".join(f"{code}: {n}" for code, n in sorted(figures.statuses.items())) + ")",
            article_line(figures),
            speed_line(figures),
            f"  WARC files           {len(warc_files)}, {warc_bytes:,} bytes  in {warc_dir}",
            *(f"    {name}" for name in warc_files),
            f"  captures catalogued  {figures.captures}  in {without_credentials(url)}",
            f"  text files written   {documents}  in {text_dir}  (new and changed texts only)",
            f"  extraction failures  {sum(reasons.values())}"
            + (f"  ({', '.join(f'{r}: {n}' for r, n in reasons.items())})" if reasons else ""),
            f"  bot challenges       {figures.blocked}",
        ]
        lines += job_lines(run.job_id, workers)
        lines += failing_lines(failing, failing_counts)
        print("\n".join(lines))


def job_lines(job_id: int | None, workers: list[tuple[CrawlRun, RunFigures]]) -> list[str]:
    """A worker of a shared crawl job: the job's figures, and each worker's part."""
    if job_id is None:
        return []
    lines = [f"  job {job_id:<16} {len(workers)} workers, "
             f"{sum(figures.captures for _, figures in workers)} pages fetched in all"]
    for run, figures in workers:
        lines.append(f"    run {run.id} ({run.hostname}, pid {run.pid}, {run.status}): "
                     f"{figures.captures} pages; " + (figures.articles_counted() or "articles not counted"))
    return lines


def article_line(figures: RunFigures) -> str:
    """What the run did to the site's articles, as `crawl_runs` records it when the run ends."""
    counted = figures.articles_counted()
    return "  articles             " + (counted or "not counted (the run has not ended, or died)")


def speed_line(figures: RunFigures) -> str:
    if figures.elapsed is None:
        return "  duration             unknown (the run has not ended, or died)"
    rates = figures.rates()
    shown = f"  ({', '.join(rates)})" if rates else ""
    return f"  duration             {duration(figures.elapsed)}{shown}"


def duration(seconds: float) -> str:
    """`42.0 s`, `3 min 05 s`, `2 h 03 min`: short and exact enough to compare runs."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def failing_lines(failing: Shown, counts: dict[tuple[str, bool], int]) -> list[str]:
    """The site's URLs whose last fetch failed, by reason; the first few named."""
    def by_reason(given_up: bool) -> str:
        return ", ".join(f"{reason}: {n}" for (reason, up), n in sorted(counts.items())
                         if up == given_up) or "none"

    lines = [f"  URLs failing         {failing.total}  (backing off: {by_reason(False)}; "
             f"given up: {by_reason(True)})"]
    for url, reason, attempts, retry_at, gave_up_at in failing.rows:
        when = _when(retry_at, gave_up_at)
        lines.append(f"    {reason or '':<20} {attempts} tries, {when} UTC  {url[:150]}")
    hidden = failing.total - len(failing.rows)
    if hidden > 0:
        lines.append(f"    ... and {hidden} more (the frontier table has them all)")
    return lines


def _when(retry_at: datetime | None, gave_up_at: datetime | None) -> str:
    if gave_up_at:
        return f"given up {gave_up_at:%Y-%m-%d %H:%M}"
    return f"next try after {retry_at:%Y-%m-%d %H:%M}" if retry_at else "due"


def _size(path: Path) -> int:
    for candidate in (path, path.with_name(path.name + ".open")):
        if candidate.exists():
            return candidate.stat().st_size
    return 0
