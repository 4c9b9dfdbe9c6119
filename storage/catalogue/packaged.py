"""The catalogue's side of packaging a selection of captures (`scrapy wacz`): the captures a
run and a time span select, with the file of the record each revisit refers to, and the
documents extracted from them. Streamed: an archive may hold millions of captures.

Which site a capture belongs to and which URLs a pattern keeps is the crawler's business
(site profiles): see `crawler.packaging`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from storage.catalogue.models import Capture, CrawlRun, Document

__all__ = ["CaptureRow", "DocumentRow", "captures_in", "documents_in"]

ROWS_PER_FETCH = 2000
_Original = aliased(Capture)


@dataclass(frozen=True, slots=True)
class CaptureRow:
    id: int
    url: str
    warc_file: str
    site: str | None  # its crawl run's; None for an imported capture
    original_file: str | None
    """A revisit's: the file of the record holding its payload (None if not catalogued)."""
    warc_type: str
    refers_to_capture_id: int | None


@dataclass(frozen=True, slots=True)
class DocumentRow:
    id: int
    url: str
    title: str
    text_path: str
    text_sha1: str
    capture_id: int
    fetched_at: datetime
    record_id: str
    site: str | None
    warc_file: str


def captures_in(session: Session, *, run: int | None = None, since: datetime | None = None,
                until: datetime | None = None) -> Iterator[CaptureRow]:
    """Response and revisit captures (never bot challenges) of `run`, fetched in [since, until)."""
    query = (
        select(Capture.id, Capture.url, Capture.warc_file, CrawlRun.site, _Original.warc_file,
               Capture.warc_type, Capture.refers_to_capture_id)
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .outerjoin(_Original, Capture.refers_to_capture_id == _Original.id)
        .where(Capture.warc_type.in_(("response", "revisit")), Capture.blocked.is_(None))
        .order_by(Capture.id)
    )
    for row in session.execute(_narrowed(query, run, since, until)).yield_per(ROWS_PER_FETCH):
        yield CaptureRow(*row)


def documents_in(session: Session, *, run: int | None = None, since: datetime | None = None,
                 until: datetime | None = None) -> Iterator[DocumentRow]:
    """Documents whose capture is selected as in `captures_in`, URL after URL, newest last."""
    query = (
        select(Document.id, Document.url, Document.title, Document.text_path, Document.text_sha1,
               Capture.id, Capture.fetched_at, Capture.warc_record_id, CrawlRun.site,
               Capture.warc_file)
        .join(Capture, Document.capture_id == Capture.id)
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .where(Capture.blocked.is_(None))
        .order_by(Document.url, Document.id)
    )
    for row in session.execute(_narrowed(query, run, since, until)).yield_per(ROWS_PER_FETCH):
        yield DocumentRow(*row)


def _narrowed(query: Select[Any], run: int | None, since: datetime | None,
              until: datetime | None) -> Select[Any]:
    if run is not None:
        query = query.where(Capture.crawl_run_id == run)
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if until is not None:
        query = query.where(Capture.fetched_at < until)
    return query
