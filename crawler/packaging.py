"""What `scrapy wacz` packages for a selection (crawler.selection): its captures, the WARC files
holding them and the records its revisits refer to, and one page per article.

Which captures: crawler.replayindex's selection, the one `scrapy cdxj` indexes (captures in
files still being written are left out and counted; a missing file is `MissingFile`).
Why the originals too: a revisit's payload lies in the record it refers to, often fetched by an
earlier run outside the selection; without that record (and its index line) the revisit could
not be replayed from the package. So the file holding it is packaged and its capture indexed.

A file that is not a WARC (an imported ARC file, or a WACZ whose WARCs were read in place)
cannot go under `archive/`: its captures are left out and counted.

Memory stays bounded: the captures and the originals are two streamed queries whose lines go
through the external sort (storage.sorting); only the files met are held.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from crawler.profiles import SiteProfile
from crawler.replayindex import ReplaySelection
from crawler.selection import Selection, SiteOf
from storage.catalogue.selection import Version, versions_by_url
from storage.textfiles import read_checked_text
from storage.wacz.pages import Page
from storage.wacz.writer import archive_name
from storage.warc.formats import sniff

__all__ = ["Contents", "PageTally", "pages_of"]


class Contents:
    """The package's WARC files, named as they are met while its index lines are made."""

    def __init__(self, selection: Selection, profiles: dict[str, SiteProfile], warc_dir: Path) -> None:
        self.warc_dir = warc_dir
        self.names: dict[str, str] = {}
        """Catalogue file name -> name under `archive/`, in the order first met."""
        self._taken: set[str] = set()
        self.replay = ReplaySelection(selection, profiles, warc_dir, refuse=self._refuse)

    def _refuse(self, name: str) -> str | None:
        """None for a WARC file (named for the package), else what the file is."""
        path = self.warc_dir / name
        kind = sniff(path).kind or "unknown"  # "wacz" for any zip
        if kind != "warc":
            return kind
        self.names[name] = archive_name(name, self._taken)
        return None


@dataclass
class PageTally:
    pages: int = 0
    without_text: Counter[str] = field(default_factory=Counter)
    """Pages given without text, by why (storage.textfiles.read_checked_text's kinds)."""


def pages_of(session: Session, selection: Selection, profiles: dict[str, SiteProfile],
             contents: Contents, text_dir: Path, tally: PageTally) -> Iterator[Page]:
    """One page per article URL: its newest selected document made from a packaged capture."""
    site_of = SiteOf(profiles)
    for _url, versions in versions_by_url(session, selection.narrowing):
        packaged = [v for v in versions if v.capture.warc_file in contents.names
                    and selection.admits(v.capture.site, v.capture.url, site_of)]
        if packaged:
            yield _page(packaged[-1], text_dir, tally)


def _page(version: Version, text_dir: Path, tally: PageTally) -> Page:
    """The page, with the text file's text if the file still holds this document's version
    (a text file holds its URL's newest text: a selection of older captures meets newer ones)."""
    document, capture = version.document, version.capture
    tally.pages += 1
    found = read_checked_text(text_dir, document.text_path, document.text_sha1)
    text = found if isinstance(found, str) else None
    if not isinstance(found, str):
        tally.without_text[found.kind] += 1
    record = capture.warc_record_id.removeprefix("<").removesuffix(">").removeprefix("urn:uuid:")
    page_id = record or hashlib.sha256(document.url.encode()).hexdigest()[:32]
    return Page(page_id, document.url, capture.fetched_at, document.title or document.url, text)
