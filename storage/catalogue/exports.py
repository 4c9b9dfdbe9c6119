"""The catalogue's side of `scrapy export`: every extracted version (`documents` row) with the
capture it came from, the record holding its payload, and whether it is its URL's newest.

Streamed URL after URL (versions oldest first), `ROWS_PER_FETCH` rows at a time: an archive
may hold millions of documents, and memory holds one URL's versions at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.catalogue.models import Capture, CrawlRun, Document
from storage.exports.records import Pointer

__all__ = ["ROWS_PER_FETCH", "Version", "payload_pointer", "versions_by_url"]

ROWS_PER_FETCH = 1000
_Original = aliased(Capture)


@dataclass(frozen=True, slots=True)
class Version:
    """One `documents` row and what the export needs of its capture."""

    document: Document
    capture: Capture
    original: Capture | None
    """The capture whose record holds the payload: the capture itself, a revisit's original,
    or None (a revisit whose original is not catalogued)."""
    site: str | None
    """The capture's crawl run's site; None for an imported capture."""
    newest: bool
    """The URL's newest document: the one its text file holds."""


def versions_by_url(session: Session, *, run: int | None = None, since: datetime | None = None,
                    until: datetime | None = None,
                    site: str | None = None) -> Iterator[tuple[str, list[Version]]]:
    """Each URL's versions, oldest first, URL after URL (sorted); only those whose capture is
    of crawl run `run`, fetched in [`since`, `until`), and of a run of `site` or imported
    (an imported capture's site is decided by its host, which the caller knows)."""
    rows = session.execute(_query(run, since, until, site)).yield_per(ROWS_PER_FETCH)
    current: list[Version] = []
    for document, capture, original, run_site, newest_id in rows:
        if current and document.url != current[0].document.url:
            yield current[0].document.url, current
            # the session's identity map holds unmodified objects weakly: once dropped here they
            # are gone (expunging them instead would break yield_per's next partition)
            current = []
        if capture.warc_type != "revisit":
            original = capture
        current.append(Version(document, capture, original, run_site, document.id == newest_id))
    if current:
        yield current[0].document.url, current


def _query(run: int | None, since: datetime | None, until: datetime | None,
           site: str | None) -> Select[Any]:
    newest = (select(Document.url.label("url"), func.max(Document.id).label("id"))
              .group_by(Document.url).subquery())
    query = (
        select(Document, Capture, _Original, CrawlRun.site, newest.c.id)
        .join(Capture, Document.capture_id == Capture.id)
        .join(newest, newest.c.url == Document.url)
        .outerjoin(_Original, Capture.refers_to_capture_id == _Original.id)
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .order_by(Document.url, Document.id)
    )
    if run is not None:
        query = query.where(Capture.crawl_run_id == run)
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if until is not None:
        query = query.where(Capture.fetched_at < until)
    if site is not None:
        query = query.where(or_(CrawlRun.site == site, Capture.crawl_run_id.is_(None)))
    return query


def payload_pointer(session: Session, record_id: str) -> Pointer | None:
    """The record holding the payload of the capture of WARC record `record_id`: itself, or
    the original a revisit refers to; None if either is not catalogued."""
    capture = session.scalar(select(Capture).where(Capture.warc_record_id == record_id))
    if capture is not None and capture.warc_type == "revisit":
        capture = session.get(Capture, capture.refers_to_capture_id) \
            if capture.refers_to_capture_id is not None else None
    if capture is None:
        return None
    return Pointer(capture.warc_file, capture.warc_offset, capture.warc_length, capture.warc_record_id)
