"""The captures `scrapy cdxj` indexes and `scrapy wacz` packages: one selection for both.

The selection options (crawler.selection) narrow what the catalogue streams (run, dates and
run site in SQL; an imported capture's site and the URL pattern row by row), and the archive
folder decides the rest, file by file:

* a file that exists only as `NAME.open` is being written (or was left by a crawl that died
  and has not been repaired yet): the crawl commits a capture's row while its file is open,
  so its captures are left out, counted, and said in one line; a later run takes them;
* a file that is neither there nor `.open` is an archive problem (`MissingFile`): an index
  or a package naming it could not be replayed, so nothing is written;
* a caller may refuse other files (`scrapy wacz`: only WARC files go in a package); their
  captures are left out and counted by the caller's kind.

A capture needs its own file, and a revisit its original's too (a 304's line points there; any
other revisit's replay reads it): every file it needs must be usable. Bot challenges are not left
out here: storage.cdxj counts them and writes no line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from itertools import chain
from pathlib import Path

from sqlalchemy.orm import Session

from crawler.exitcodes import Unusable
from crawler.profiles import SiteProfile
from crawler.selection import Selection, SiteOf
from storage.catalogue.selection import CaptureRow, capture_rows, referred_originals
from storage.cdxj import CdxjCounts, lines_of
from storage.sorting import sorted_lines
from storage.warc.exchange import OPEN_SUFFIX

__all__ = ["MissingFile", "ReplaySelection"]

PRESENT, OPEN = "present", "open"


class MissingFile(Unusable):
    """A catalogued capture's file is neither where the catalogue says nor being written."""


class ReplaySelection:
    """The selected captures whose files can be read, and the originals their revisits need.

    `refuse(name)` (optional) gives why a present file cannot be used (a kind, e.g. 'arc'),
    or None to use it; it is asked once per file."""

    def __init__(self, selection: Selection, profiles: dict[str, SiteProfile], warc_dir: Path,
                 refuse: Callable[[str], str | None] | None = None) -> None:
        self.selection = selection
        self.site_of = SiteOf(profiles)
        self.warc_dir = warc_dir
        self.refuse = refuse or (lambda name: None)
        self.verdicts: dict[str, str | None] = {}
        """File name -> None (usable), OPEN, or the kind `refuse` gave."""
        self.selected = 0
        self.originals = 0
        """Originals outside the selection that selected revisits refer to."""
        self.being_written: Counter[str] = Counter()
        """Captures left out by the `.open` file holding them (or their 304's original)."""
        self.refused: Counter[str] = Counter()
        """Captures left out by the kind of file `refuse` turned down."""

    def captures(self, session: Session) -> Iterator[CaptureRow]:
        """The selected captures every file of whose line can be used. Streamed."""
        for row in capture_rows(session, self.selection.narrowing):
            if self.selection.admits(row.site, row.url, self.site_of) and self._usable(row, count=True):
                self.selected += 1
                yield row

    def lines(self, session: Session, counts: CdxjCounts, *, originals: bool = False) -> Iterator[str]:
        """The sorted CDXJ lines (without newlines) of the selected captures, and with
        `originals` of the originals outside the selection their revisits refer to; what is
        left out is counted in `counts`."""
        rows = self.captures(session)
        if originals:
            rows = chain(rows, self.originals_outside(session))
        return sorted_lines(lines_of(rows, counts))

    def originals_outside(self, session: Session) -> Iterator[CaptureRow]:
        """The originals outside the selection that selected, usable revisits refer to, once
        each (an original inside it is in `captures` already)."""
        last = None
        for referred in referred_originals(session, self.selection.narrowing):
            original = referred.original
            if original.id == last or (referred.inside and self.selection.admits(
                    original.site, original.url, self.site_of)):
                continue
            if not self.selection.admits(referred.revisit_site, referred.revisit_url, self.site_of) \
                    or self._verdict(referred.revisit_file) is not None \
                    or not self._usable(original, count=False):
                continue
            last = original.id
            self.originals += 1
            yield original

    def note(self) -> str | None:
        """The one line saying what was left out because its file is still being written."""
        if not self.being_written:
            return None
        names = sorted(name + OPEN_SUFFIX for name in self.being_written)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return (f"{sum(self.being_written.values())} captures in files still being written "
                f"({shown}): left out")

    def _usable(self, row: CaptureRow, *, count: bool) -> bool:
        """Every file its replay reads can be used: its line's, and a revisit's original's."""
        needed = (row.warc_file,)
        if row.warc_type == "revisit" and row.original_file is not None:
            needed += (row.original_file,)
        for name in needed:
            verdict = self._verdict(name)
            if verdict is None:
                continue
            if count and verdict == OPEN:
                self.being_written[name] += 1
            elif count:
                self.refused[verdict] += 1
            return False
        return True

    def _verdict(self, name: str) -> str | None:
        """Decided once per file: a file closed while the command runs stays left out, so that
        everything the command writes agrees (one pass may not see what another saw)."""
        if name not in self.verdicts:
            path = self.warc_dir / name
            if path.is_file():
                self.verdicts[name] = self.refuse(name)
            elif path.with_name(path.name + OPEN_SUFFIX).is_file():
                self.verdicts[name] = OPEN
            else:
                raise MissingFile(f"{path}: archive file missing (moved or deleted?): the "
                                  "catalogue names it, so the output would not be whole; "
                                  "nothing was written")
        return self.verdicts[name]
