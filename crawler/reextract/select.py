"""Which captures `scrapy reextract` extracts again, and where each one's payload lies.

Why this module exists: a text file always holds the extraction of its URL's newest
capture (that is what the crawl writes, and what deleting `text/` and re-extracting must
give back). So for each article URL only the newest eligible capture is extracted; older
captures of the same URL are counted as superseded, and so is a selected capture when a
newer one of its URL lies outside the selection (re-extracting it would put an old
version back in the file).

Eligible, as during the crawl: a 2xx response (or a revisit standing for one) whose URL is
an article of its site's profile. A capture's site is its crawl run's; an imported
capture (no run) belongs to the profile whose hosts include its host, or else to no
profile: then every HTML page is an article, extracted with default hints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from crawler.extraction.article import HTML_TYPES
from crawler.profiles import SiteProfile
from crawler.selection import Selection, SiteOf
from storage.catalogue.selection import (
    CaptureRow,
    captures_by_url,
    newest_2xx_fetches,
    urls_extracted_by_others,
)

__all__ = ["Selected", "WorkItem", "select_work"]


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One capture to extract: its identity, its site, and where its payload lies."""

    capture_id: int
    url: str
    fetched_at: datetime
    site: str | None
    content_type: str | None
    warc_file: str
    offset: int
    length: int


@dataclass
class Selected:
    items: list[WorkItem] = field(default_factory=list)
    superseded: int = 0
    unresolved: list[WorkItem] = field(default_factory=list)
    """Revisits whose original is not catalogued: they fail with `unresolved_revisit`."""
    ignored: Counter[str] = field(default_factory=Counter)


def select_work(session: Session, selection: Selection, profiles: dict[str, SiteProfile]) -> Selected:
    stale = (urls_extracted_by_others(session, selection.stale_against)
             if selection.stale_against else None)
    chooser = _Chooser(profiles)
    selected = Selected()
    for url, candidates in captures_by_url(session, selection.narrowing):
        if not selection.matches_url(url) or (stale is not None and url not in stale):
            continue
        newest = None
        for candidate in candidates:
            if not selection.admits(candidate.site, url, chooser.site_of):
                continue
            item = chooser.item(candidate, selected.ignored)
            if item is None:
                continue
            if newest is not None:
                selected.superseded += 1
            newest = item
        if newest is not None:
            (selected.unresolved if newest.warc_file == "" else selected.items).append(newest)
    if selection.narrows_captures:
        _drop_superseded_elsewhere(session, selected)
    return selected


class _Chooser:
    """Turns a candidate capture into a WorkItem, or None (with the reason counted)."""

    def __init__(self, profiles: dict[str, SiteProfile]) -> None:
        self.site_of = SiteOf(profiles)

    def item(self, capture: CaptureRow, ignored: Counter[str]) -> WorkItem | None:
        profile = self.site_of(capture.site, capture.url)
        revisit = capture.warc_type == "revisit"
        status: int | None = capture.status
        if revisit and status in (0, 304):  # header-less or not-modified: the original's
            status = capture.original_status
        content_type = capture.content_type or (capture.original_content_type if revisit else None)
        reason = _ineligible(capture.url, status, content_type, profile)
        if reason:
            ignored[reason] += 1
            return None
        site = profile.name if profile else None
        if revisit and capture.original_file is None:  # no original catalogued: nothing to read
            return WorkItem(capture.id, capture.url, capture.fetched_at, site, content_type, "", 0, 0)
        if revisit:
            where = (capture.original_file, capture.original_offset, capture.original_length)
        else:
            where = (capture.warc_file, capture.warc_offset, capture.warc_length)
        return WorkItem(capture.id, capture.url, capture.fetched_at, site, content_type, *where)


def _ineligible(url: str, status: int | None, content_type: str | None,
                profile: SiteProfile | None) -> str | None:
    if status is None or not 200 <= status < 300:
        return "not_2xx"
    if profile is not None:
        return None if profile.is_article(url) else "not_article"
    media_type = (content_type or "").split(";")[0].strip().lower()
    return None if media_type in HTML_TYPES else "not_html"


def _drop_superseded_elsewhere(session: Session, selected: Selected) -> None:
    """A newer 2xx capture of the URL outside the selection wins over the selected one."""
    newest = newest_2xx_fetches(session, [item.url for item in selected.items])
    kept = [item for item in selected.items if newest.get(item.url, item.fetched_at) <= item.fetched_at]
    selected.superseded += len(selected.items) - len(kept)
    selected.items = kept
