"""`scrapy cdxj`: a sorted CDXJ index of the archive (or a selection), for pywb and friends.

    scrapy cdxj -o all.cdxj                                 # every capture
    scrapy cdxj --site vov --since 2025-01-01 -o jan.cdxj   # a selection (crawler.selection)
    scrapy cdxj --per-file                                  # each closed WARC file's index, if missing

--per-file leaves out files whose writer still runs (it indexes them itself once their rows
are committed) and files written on other hosts (storage.cdxjfiles.missing_indexes).

Lines come from the catalogue (storage.cdxj), never from re-reading WARC files: 304 revisits
point at the record holding their payload, bot challenges are left out, and so are captures
in files still being written (`NAME.open`; crawler.replayindex). What is left out is counted
on stderr. Exit status (crawler.exitcodes): 0 written; 1 the catalogue or the output
cannot be used (one line says why); 2 bad arguments; 141 the reader of stdout went away.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Iterable
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import one_line_errors, opened, output_errors
from crawler.extensions.runlock import pid_alive
from crawler.profiles import profiles_of
from crawler.replayindex import ReplaySelection
from crawler.selection import add_selection_options, selection_given, selection_of
from storage.atomic import atomic_output
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
        profiles = profiles_of(settings)
        selection = selection_of(opts, profiles)
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        counts = CdxjCounts()
        replay = ReplaySelection(selection, profiles, Path(setting(settings, "WARC_DIR", str)))
        with sessions() as session:
            lines = replay.lines(session, counts)
            opened(lambda: _write(opts.output, lines), url)
        print(_summary(counts, opts.output or "stdout"), file=sys.stderr)
        if replay.note():
            print(replay.note(), file=sys.stderr)

    def _per_file(self, opts: argparse.Namespace) -> None:
        if opts.output or selection_given(opts):
            raise UsageError("--per-file writes whole files' indexes: it takes no -o nor selection")
        settings = self.settings
        warc_dir = Path(setting(settings, "WARC_DIR", str))
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        total = CdxjCounts()
        missing = missing_indexes(warc_dir, socket.gethostname(), pid_alive)
        names = missing.indexable
        for name in names:
            with sessions() as session:
                counts = opened(lambda: write_file_index(session, warc_dir, name), url)  # noqa: B023
            total.add(counts)
            print(f"{index_path(warc_dir, name)}: {counts.lines} lines", file=sys.stderr)
        print(f"{len(names)} per-file indexes written. " + _summary(total, str(warc_dir / "indexes")),
              file=sys.stderr)
        if missing.written_elsewhere:
            print(f"{len(missing.written_elsewhere)} files written on other hosts left without an "
                  "index: run `scrapy cdxj --per-file` on the host that wrote them",
                  file=sys.stderr)


def _write(output: str | None, lines: Iterable[str]) -> None:
    """To `output` (replaced whole, or left as it was) or to stdout."""
    with output_errors(output or "stdout"):
        if output:
            with atomic_output(Path(output), "w", encoding="utf-8", newline="\n") as out:
                out.writelines(line + "\n" for line in lines)
        else:
            sys.stdout.writelines(line + "\n" for line in lines)
            sys.stdout.flush()


def _summary(counts: CdxjCounts, where: str) -> str:
    text = (f"{counts.lines} CDXJ lines to {where}; left out: {counts.blocked} bot challenges, "
            f"{counts.unresolved_304} 304 revisits whose original is not catalogued")
    if counts.unresolved_examples:
        text += " (" + "; ".join(counts.unresolved_examples) + ")"
    return text
