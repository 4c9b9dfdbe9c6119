"""`scrapy cdxj`: a sorted CDXJ index of the archive (or a selection), for pywb and friends.

    scrapy cdxj -o all.cdxj                                 # every capture
    scrapy cdxj --site vov --since 2025-01-01 -o jan.cdxj   # a selection (crawler.selection)
    scrapy cdxj --per-file                                  # each closed WARC file's index, if missing

Lines come from the catalogue (storage.cdxj), never from re-reading WARC files: 304 revisits
point at the record holding their payload, bot challenges are left out, and so are captures
in files still being written (`NAME.open`; crawler.replayindex). What is left out is counted
on stderr. Exit status (crawler.exitcodes): 0 written; 1 the catalogue or the output
cannot be used (one line says why); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import Unusable, one_line_errors, opened
from crawler.profiles import load_profiles
from crawler.replayindex import ReplaySelection, selected_lines
from crawler.selection import add_selection_options, selection_of
from storage.catalogue.db import open_catalogue
from storage.cdxj import CdxjCounts
from storage.cdxjfiles import index_path, missing_indexes, write_file_index


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return "Write a sorted CDXJ index (pywb's format) of the archived captures"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        add_selection_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE",
                            help="write the index to FILE (replaced whole at the end; default: stdout)")
        parser.add_argument("--per-file", action="store_true",
                            help="write the index of each closed WARC file of ours that has none, "
                                 "in WARC_DIR/indexes/")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments {args}: cdxj takes options only")
        with one_line_errors("cdxj"):
            if opts.per_file:
                self._per_file(opts)
            else:
                self._merged(opts)

    def _merged(self, opts: argparse.Namespace) -> None:
        settings = self.settings
        profiles = load_profiles(Path(setting(settings, "PROFILES_DIR", str)))
        selection = selection_of(opts, profiles)
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        counts = CdxjCounts()
        replay = ReplaySelection(selection, profiles, Path(setting(settings, "WARC_DIR", str)))
        with sessions() as session:
            lines = selected_lines(session, replay, counts)
            if opts.output:
                opened(lambda: _write_atomically(Path(opts.output), lines), url)
            else:
                opened(lambda: sys.stdout.writelines(line + "\n" for line in lines), url)
                sys.stdout.flush()
        print(_summary(counts, opts.output or "stdout"), file=sys.stderr)
        if replay.note():
            print(replay.note(), file=sys.stderr)

    def _per_file(self, opts: argparse.Namespace) -> None:
        if opts.output or any(getattr(opts, name) for name in
                              ("site", "run", "since", "until", "url_pattern")):
            raise UsageError("--per-file writes whole files' indexes: it takes no -o nor selection")
        settings = self.settings
        warc_dir = Path(setting(settings, "WARC_DIR", str))
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        total = CdxjCounts()
        names = missing_indexes(warc_dir)
        for name in names:
            with sessions() as session:
                counts = opened(lambda: write_file_index(session, warc_dir, name), url)  # noqa: B023
            total.add(counts)
            print(f"{index_path(warc_dir, name)}: {counts.lines} lines", file=sys.stderr)
        print(f"{len(names)} per-file indexes written. " + _summary(total, str(warc_dir / "indexes")),
              file=sys.stderr)


def _write_atomically(target: Path, lines: Iterable[str]) -> None:
    """Write to a temporary file beside `target`, then rename: never half an index."""
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise Unusable(f"{target}: its folder {folder} does not exist")
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.writelines(line + "\n" for line in lines)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _summary(counts: CdxjCounts, where: str) -> str:
    text = (f"{counts.lines} CDXJ lines to {where}; left out: {counts.blocked} bot challenges, "
            f"{counts.unresolved_304} 304 revisits whose original is not catalogued")
    if counts.unresolved_examples:
        text += " (" + "; ".join(counts.unresolved_examples) + ")"
    return text
