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

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from crawler.extraction.article import HTML_TYPES
from crawler.profiles import SiteProfile
from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Capture, CrawlRun, Document

__all__ = ["Selection", "Selected", "WorkItem", "select_work"]

_Original = aliased(Capture)


@dataclass(frozen=True, slots=True)
class Selection:
    """The command's filters; None means no filter."""

    site: str | None = None
    run: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    url_pattern: str | None = None
    stale_against: str | None = None
    """An extractor version: only URLs whose newest document was made by another one."""

    @property
    def narrows_captures(self) -> bool:
        return self.run is not None or self.since is not None or self.until is not None


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
    pattern = re.compile(selection.url_pattern) if selection.url_pattern else None
    stale = _stale_urls(session, selection.stale_against) if selection.stale_against else None
    chooser = _Chooser(profiles)
    selected = Selected()
    for url, rows in _by_url(session.execute(_query(selection)).yield_per(2000)):
        if (pattern and not pattern.search(url)) or (stale is not None and url not in stale):
            continue
        newest = None
        for row in rows:
            item = chooser.item(row, selected.ignored)
            if item is None or (selection.site and item.site != selection.site):
                continue
            if newest is not None:
                selected.superseded += 1
            newest = item
        if newest is not None:
            (selected.unresolved if newest.warc_file == "" else selected.items).append(newest)
    if selection.narrows_captures:
        _drop_superseded_elsewhere(session, selected)
    return selected


def _query(selection: Selection) -> Select[Any]:
    query = (
        select(Capture.id, Capture.url, Capture.warc_type, Capture.status, Capture.fetched_at,
               Capture.content_type, Capture.warc_file, Capture.warc_offset, Capture.warc_length,
               Capture.refers_to_capture_id, CrawlRun.site, _Original.status.label("o_status"),
               _Original.content_type.label("o_content_type"), _Original.warc_file.label("o_file"),
               _Original.warc_offset.label("o_offset"), _Original.warc_length.label("o_length"))
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .outerjoin(_Original, Capture.refers_to_capture_id == _Original.id)
        # a bot challenge is no copy of its page: never extracted
        .where(Capture.warc_type.in_(("response", "revisit")), Capture.blocked.is_(None))
        .order_by(Capture.url, Capture.fetched_at, Capture.id)
    )
    if selection.run is not None:
        query = query.where(Capture.crawl_run_id == selection.run)
    if selection.since is not None:
        query = query.where(Capture.fetched_at >= selection.since)
    if selection.until is not None:
        query = query.where(Capture.fetched_at < selection.until)
    return query


def _by_url(rows: Any) -> Iterator[tuple[str, list[Any]]]:
    """Consecutive rows of the same URL (the query orders by URL), oldest first."""
    current: list[Any] = []
    for row in rows:
        if current and row.url != current[0].url:
            yield current[0].url, current
            current = []
        current.append(row)
    if current:
        yield current[0].url, current


class _Chooser:
    """Turns a capture row into a WorkItem, or None (with the reason counted)."""

    def __init__(self, profiles: dict[str, SiteProfile]) -> None:
        self.profiles = profiles
        self.by_host = {host: profile for profile in profiles.values() for host in profile.hosts}

    def item(self, row: Any, ignored: Counter[str]) -> WorkItem | None:
        profile = self._profile(row)
        revisit = row.warc_type == "revisit"
        status = row.status
        if revisit and status in (0, 304):  # header-less or not-modified: the original's
            status = row.o_status
        content_type = row.content_type or (row.o_content_type if revisit else None)
        reason = _ineligible(row.url, status, content_type, profile)
        if reason:
            ignored[reason] += 1
            return None
        site = profile.name if profile else None
        if revisit and row.o_file is None:  # no original catalogued: nothing to read
            return WorkItem(row.id, row.url, row.fetched_at, site, content_type, "", 0, 0)
        where = (row.o_file, row.o_offset, row.o_length) if revisit else \
            (row.warc_file, row.warc_offset, row.warc_length)
        return WorkItem(row.id, row.url, row.fetched_at, site, content_type, *where)

    def _profile(self, row: Any) -> SiteProfile | None:
        if row.site is not None:
            return self.profiles.get(row.site)
        return self.by_host.get((urlsplit(row.url).hostname or "").lower())


def _ineligible(url: str, status: int | None, content_type: str | None,
                profile: SiteProfile | None) -> str | None:
    if status is None or not 200 <= status < 300:
        return "not_2xx"
    if profile is not None:
        return None if profile.is_article(url) else "not_article"
    media_type = (content_type or "").split(";")[0].strip().lower()
    return None if media_type in HTML_TYPES else "not_html"


def _stale_urls(session: Session, version: str) -> set[str]:
    newest = select(func.max(Document.id)).group_by(Document.url)
    return set(session.scalars(select(Document.url).where(
        Document.id.in_(newest), Document.extractor_version != version)))


def _drop_superseded_elsewhere(session: Session, selected: Selected) -> None:
    """A newer 2xx capture of the URL outside the selection wins over the selected one."""
    newest = _newest_fetch(session, [item.url for item in selected.items])
    kept = [item for item in selected.items if newest.get(item.url, item.fetched_at) <= item.fetched_at]
    selected.superseded += len(selected.items) - len(kept)
    selected.items = kept


def _newest_fetch(session: Session, urls: Sequence[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for chunk in in_chunks(urls):
        rows = session.execute(
            select(Capture.url, func.max(Capture.fetched_at))
            .where(Capture.url.in_(chunk), Capture.blocked.is_(None),
                   Capture.warc_type.in_(("response", "revisit")),
                   (Capture.warc_type == "revisit") | Capture.status.between(200, 299))
            .group_by(Capture.url))
        found.update((url, fetched_at) for url, fetched_at in rows)
    return found
