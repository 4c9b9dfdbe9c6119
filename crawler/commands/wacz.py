"""`scrapy wacz -o FILE.wacz`: package a selection of the archive as a WACZ (1.1.1) for
ReplayWeb.page, pywb and other archives.

    scrapy wacz -o vov.wacz                                   # everything
    scrapy wacz -o march.wacz --site vov --since 2025-03-01 --until 2025-04-01

Inside: the WARC files holding the selected captures (and the records their revisits refer
to), stored as they are; their CDXJ index; one page per article with its title and text; and
datapackage.json with every entry's sha256 and size. Captures in files still being written
(`NAME.open`, a running or killed crawl's) are left out and counted (crawler.replayindex).
Exit status: 0 written; 1 the
catalogue, an archive file or the output cannot be used (one line says why; no file is
left behind); 2 bad arguments, or a selection holding no capture.

Settings: DATABASE_URL, WARC_DIR, EXTRACT_TEXT_DIR.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable, catalogue_problem, one_line_errors, opened
from crawler.packaging import Contents, PageTally, pages_of
from crawler.profiles import profiles_of
from crawler.selection import Selection, add_selection_options, selection_of
from storage.catalogue.db import open_catalogue
from storage.cdxj import CdxjCounts
from storage.wacz.writer import Described, WaczWriter


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "-o FILE.wacz [options]"

    def short_desc(self) -> str:
        return "Package archived captures, their index and article pages as a WACZ file"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="the .wacz file to write")
        parser.add_argument("--title", help="the package's title (default: says what was selected)")
        add_selection_options(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments {args}: wacz takes options only")
        if not opts.output:
            raise UsageError("name the package to write: -o FILE.wacz")
        with one_line_errors("wacz"):
            self.exitcode = int(self._package(opts, Path(opts.output)))

    def _package(self, opts: argparse.Namespace, target: Path) -> ExitCode:
        settings = self.settings
        profiles = profiles_of(settings)
        selection = selection_of(opts, profiles)
        url = setting(settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        warc_dir = Path(setting(settings, "WARC_DIR", str))
        text_dir = Path(setting(settings, "EXTRACT_TEXT_DIR", str))
        contents = Contents(selection, profiles, warc_dir)
        replay = contents.replay
        with sessions() as session:
            try:
                title = opts.title or f"vnarchive: {describe(selection)}"
                pages, counts = PageTally(), CdxjCounts()
                with WaczWriter(target) as wacz:
                    # the index first: making its lines decides which files the package holds
                    index = wacz.write_index(replay.lines(session, counts, originals=True), contents.names)
                    if not replay.selected:
                        raise Unusable(f"no capture matches the selection ({describe(selection)})"
                                       + _open_note(replay.note()) + ": nothing to package", ExitCode.USAGE)
                    for name, packaged in contents.names.items():
                        wacz.add_warc(packaged, warc_dir / name)
                    wacz.write_pages(pages_of(session, selection, profiles, contents, text_dir, pages),
                                     title)
                    wacz.finish(Described(title, _description(selection, replay.selected),
                                          "vnarchive (scrapy wacz)"))
            except SQLAlchemyError as error:
                raise catalogue_problem(error, url) from error
            except OSError as error:
                raise Unusable(f"{target} not written: {error.filename or ''}: "
                               f"{error.strerror or error}") from None
        print(f"wrote {target}: {len(contents.names)} WARC files, {replay.selected} captures "
              f"(and {replay.originals} records outside the selection that its revisits refer to), "
              f"{index.lines} index lines, "
              f"{pages.pages} pages ({pages.pages - sum(pages.without_text.values())} with text)")
        _notes(replay.refused, replay.note(), counts, pages)
        return ExitCode.OK


def describe(selection: Selection) -> str:
    parts = [f"site {selection.site}" if selection.site else "all sites"]
    if selection.run is not None:
        parts.append(f"run {selection.run}")
    if selection.since is not None:
        parts.append(f"since {selection.since.isoformat()}")
    if selection.until is not None:
        parts.append(f"until {selection.until.isoformat()}")
    if selection.url_pattern:
        parts.append(f"URLs matching {selection.url_pattern!r}")
    return ", ".join(parts)


def _description(selection: Selection, captures: int) -> str:
    return (f"{captures} captures ({describe(selection)}) archived by vnarchive, with the WARC "
            "records their revisits refer to; one page per article, with its extracted text.")


def _open_note(note: str | None) -> str:
    return f" ({note})" if note else ""


def _notes(left_out: dict[str, int], being_written: str | None, counts: CdxjCounts,
           pages: PageTally) -> None:
    for kind, number in sorted(left_out.items()):
        print(f"  left out: {number} captures held in {kind} files (only WARC files go in a WACZ)")
    if being_written:
        print(f"  {being_written}")
    if counts.blocked:
        print(f"  not indexed: {counts.blocked} bot challenges (archived, not the page)")
    if counts.unresolved_304:
        print(f"  not indexed: {counts.unresolved_304} not-modified revisits whose original is not "
              f"catalogued (e.g. {', '.join(counts.unresolved_examples[:3])})")
    for why, number in sorted(pages.without_text.items()):
        print(f"  pages without text: {number} ({why})")
