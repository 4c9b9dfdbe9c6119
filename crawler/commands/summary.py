"""`scrapy summary`: what a crawl run archived, and where it all lives."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from scrapy.commands import ScrapyCommand

from storage import repository
from storage.db import open_catalogue


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Summarise a crawl run: pages, WARC files, captures, texts, failures"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--run", type=int, help="crawl run id (default: the latest)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        settings = self.settings
        sessions = open_catalogue(settings["DATABASE_URL"])
        with sessions() as session:
            run = repository.crawl_run(session, opts.run)
            if run is None:
                print("No crawl run in the catalogue yet.")
                self.exitcode = 1
                return
            captures = repository.captures_of_run(session, run.id)
            documents = repository.documents_of_run(session, run.id)
            failures = repository.failures_of_run(session, run.id)
        warc_dir, text_dir = Path(settings["WARC_DIR"]), Path(settings["TEXT_DIR"])
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
            f"  captures catalogued  {len(captures)}  in {_safe_url(settings['DATABASE_URL'])}",
            f"  text files written   {len(documents)}  in {text_dir}",
            f"  extraction failures  {len(failures)}"
            + (f"  ({', '.join(f'{r}: {n}' for r, n in sorted(reasons.items()))})" if reasons else ""),
        ]
        lines += [f"    {name}" for name in warc_files]
        print("\n".join(lines))


def _size(path: Path) -> int:
    for candidate in (path, path.with_name(path.name + ".open")):
        if candidate.exists():
            return candidate.stat().st_size
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
