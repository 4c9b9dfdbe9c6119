"""What `scrapy wacz` packages for a selection (crawler.selection): its captures, the WARC files
holding them and the records its revisits refer to, and one page per article.

Why the originals too: a revisit's payload lies in the record it refers to, often fetched by an
earlier run outside the selection; without that record (and its index line) the revisit could
not be replayed from the package. So the file holding it is packaged and its capture indexed.

A file that is not a WARC (an imported ARC file, or a WACZ whose WARCs were read in place)
cannot go under `archive/`: its captures are left out and counted. A file that is missing is an
archive problem (`MissingFile`), never silently skipped.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from crawler.profiles import SiteProfile
from crawler.selection import Selection, SiteOf
from storage.catalogue.packaged import DocumentRow, captures_in, documents_in
from storage.textfiles import text_sha1_of
from storage.wacz.pages import Page
from storage.wacz.writer import archive_name
from storage.warc.formats import sniff

__all__ = ["Contents", "MissingFile", "PageTally", "contents_of", "pages_of"]


class MissingFile(OSError):
    """A catalogued capture's WARC file is not where the catalogue says."""


@dataclass
class Contents:
    capture_ids: array[int] = field(default_factory=lambda: array("q"))
    """The selected captures, then the originals of their revisits outside the selection."""
    names: dict[str, str] = field(default_factory=dict)
    """Catalogue file name -> name under `archive/`, in the order first met."""
    paths: dict[str, Path] = field(default_factory=dict)
    selected: int = 0
    originals: int = 0
    left_out: Counter[str] = field(default_factory=Counter)
    """Captures left out, by the kind of file holding them ('arc', 'wacz', ...)."""

    kinds: dict[str, str] = field(default_factory=dict)
    """Catalogue file name -> what the file is ('warc', 'arc', 'wacz', ...)."""
    taken: set[str] = field(default_factory=set)

    @property
    def excluded_files(self) -> set[str]:
        return {name for name, kind in self.kinds.items() if kind != "warc"}


def contents_of(session: Session, selection: Selection, profiles: dict[str, SiteProfile],
                warc_dir: Path) -> Contents:
    contents = Contents()
    in_selection = _Chooser(selection, profiles)
    originals: set[int] = set()
    for row in captures_in(session, run=selection.run, since=selection.since, until=selection.until):
        if not in_selection(row.site, row.url):
            continue
        if not _packaged(contents, row.warc_file, warc_dir):
            contents.left_out[contents.kinds[row.warc_file]] += 1
            continue
        contents.capture_ids.append(row.id)
        contents.selected += 1
        if row.refers_to_capture_id is not None and row.original_file is not None \
                and _packaged(contents, row.original_file, warc_dir):
            originals.add(row.refers_to_capture_id)
    selected = contents.capture_ids  # in id order: the query's
    outside = sorted(i for i in originals if not _holds(selected, i))
    contents.originals = len(outside)
    contents.capture_ids.extend(outside)
    return contents


def _holds(ordered: array[int], value: int) -> bool:
    at = bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value


def _packaged(contents: Contents, warc_file: str, warc_dir: Path) -> bool:
    """Whether `warc_file` goes into the package (named, the first time it is met)."""
    kind = contents.kinds.get(warc_file)
    if kind is None:
        path = warc_dir / warc_file
        if not path.is_file():
            raise MissingFile(2, "archive file missing (moved or deleted?)", str(path))
        sniffed = sniff(path)
        kind = "wacz" if _is_zip(path) else (sniffed.kind or "unknown")
        contents.kinds[warc_file] = kind
        if kind == "warc":
            contents.names[warc_file] = archive_name(warc_file, contents.taken)
            contents.paths[warc_file] = path
    return kind == "warc"


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


class _Chooser:
    """Whether a capture of this run's site and URL is in the selection (site, URL pattern)."""

    def __init__(self, selection: Selection, profiles: dict[str, SiteProfile]) -> None:
        self.selection = selection
        self.site_of = SiteOf(profiles)

    def __call__(self, run_site: str | None, url: str) -> bool:
        if not self.selection.matches_url(url):
            return False
        if self.selection.site is None:
            return True
        profile = self.site_of(run_site, url)
        return profile is not None and profile.name == self.selection.site


@dataclass
class PageTally:
    pages: int = 0
    without_text: Counter[str] = field(default_factory=Counter)
    """Pages given without text, by why: its file holds a newer version, or is missing."""


def pages_of(session: Session, selection: Selection, profiles: dict[str, SiteProfile],
             contents: Contents, text_dir: Path, tally: PageTally) -> Iterator[Page]:
    """One page per article URL: its newest document made from a packaged capture."""
    in_selection = _Chooser(selection, profiles)
    excluded = contents.excluded_files
    newest: DocumentRow | None = None
    for row in documents_in(session, run=selection.run, since=selection.since, until=selection.until):
        if row.warc_file in excluded or not in_selection(row.site, row.url):
            continue
        if newest is not None and row.url != newest.url:
            yield _page(newest, text_dir, tally)
        newest = row
    if newest is not None:
        yield _page(newest, text_dir, tally)


def _page(document: DocumentRow, text_dir: Path, tally: PageTally) -> Page:
    """The page, with the text file's text if the file still holds this document's version
    (a text file holds its URL's newest text: a selection of older captures meets newer ones)."""
    tally.pages += 1
    text: str | None = None
    try:
        stored = (text_dir / document.text_path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        tally.without_text["text file missing"] += 1
    except (OSError, UnicodeDecodeError):
        tally.without_text["text file unreadable"] += 1
    else:
        if text_sha1_of(stored) == document.text_sha1:
            text = stored
        else:
            tally.without_text["text file holds a newer version"] += 1
    record = document.record_id.removeprefix("<").removesuffix(">").removeprefix("urn:uuid:")
    page_id = record or hashlib.sha256(document.url.encode()).hexdigest()[:32]
    return Page(page_id, document.url, document.fetched_at, document.title or document.url, text)
