"""The one query behind every command that works on a selection of captures (`cdxj`, `wacz`,
`export`, `reextract`, and the per-file indexes): a capture with its crawl run's site and the
fields of the original its revisit refers to, narrowed by run, fetch time, site and file.

Why one: the commands must agree on what a selection holds (a capture `cdxj` indexes is one
`wacz` packages), so the columns, joins and narrowing are written once, here. Rows are
streamed `ROWS_PER_FETCH` at a time: an archive may hold millions of captures. Which site an
imported capture belongs to and which URLs a pattern keeps is the crawler's business (site
profiles): see `crawler.selection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Capture, CrawlRun, Document

__all__ = ["ROWS_PER_FETCH", "CaptureRow", "Narrowing", "Referred", "Version", "capture_query",
           "capture_rows", "captures_by_url", "newest_2xx_fetches", "referred_originals",
           "urls_extracted_by_others", "versions_by_url"]

ROWS_PER_FETCH = 2000  # rows streamed at a time: an archive may hold millions of captures
_Original = aliased(Capture)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What SQL can narrow; None means no filter."""

    run: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    site: str | None = None
    """A run's site: captures of runs of other sites are left out; imported ones (no run) stay,
    for the caller to decide by their host."""
    warc_file: str | None = None


@dataclass(frozen=True, slots=True)
class CaptureRow:
    """A response or revisit capture, with its original's record if it is a revisit whose
    original is catalogued (the original_* fields are None otherwise)."""

    id: int
    url: str
    warc_type: str
    status: int
    fetched_at: datetime
    content_type: str | None
    payload_digest: str
    warc_file: str
    warc_offset: int
    warc_length: int
    warc_record_id: str
    refers_to_capture_id: int | None
    blocked: str | None
    site: str | None  # its crawl run's; None for an imported capture
    original_type: str | None
    original_status: int | None
    original_content_type: str | None
    original_digest: str | None
    original_file: str | None
    original_offset: int | None
    original_length: int | None
    original_record_id: str | None


_COLUMNS = (Capture.id, Capture.url, Capture.warc_type, Capture.status, Capture.fetched_at,
            Capture.content_type, Capture.payload_digest, Capture.warc_file, Capture.warc_offset,
            Capture.warc_length, Capture.warc_record_id, Capture.refers_to_capture_id,
            Capture.blocked, CrawlRun.site, _Original.warc_type, _Original.status,
            _Original.content_type, _Original.payload_digest, _Original.warc_file,
            _Original.warc_offset, _Original.warc_length, _Original.warc_record_id)
_WIDTH = len(_COLUMNS)


def capture_query(narrowing: Narrowing | None = None) -> Select[Any]:
    """The response and revisit captures `narrowing` selects (bot challenges included: each
    caller decides what to do with them), as the columns of a CaptureRow, in no order."""
    return (
        select(*_COLUMNS)
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .outerjoin(_Original, Capture.refers_to_capture_id == _Original.id)
        .where(Capture.warc_type.in_(("response", "revisit")),
               *_conditions(Capture, CrawlRun, narrowing or Narrowing()))
    )


def row_of(row: Any) -> CaptureRow:
    """The CaptureRow at the start of a result row of `capture_query` (plus added columns)."""
    return CaptureRow(*row[:_WIDTH])


def capture_rows(session: Session, narrowing: Narrowing | None = None) -> Iterator[CaptureRow]:
    """The selected captures in id order. Streamed."""
    query = capture_query(narrowing).order_by(Capture.id)
    for row in session.execute(query).yield_per(ROWS_PER_FETCH):
        yield row_of(row)


def captures_by_url(session: Session, narrowing: Narrowing | None = None,
                    ) -> Iterator[tuple[str, list[CaptureRow]]]:
    """The selected captures that are no bot challenge, oldest first, URL after URL. Streamed:
    memory holds one URL's captures."""
    query = (capture_query(narrowing).where(Capture.blocked.is_(None))
             .order_by(Capture.url, Capture.fetched_at, Capture.id))
    current: list[CaptureRow] = []
    for row in session.execute(query).yield_per(ROWS_PER_FETCH):
        if current and row.url != current[0].url:
            yield current[0].url, current
            current = []
        current.append(row_of(row))
    if current:
        yield current[0].url, current


@dataclass(frozen=True, slots=True)
class Referred:
    """An original record and one selected revisit referring to it."""

    original: CaptureRow
    inside: bool
    """Whether the original itself passes the same narrowing (it may still fail the caller's)."""
    revisit_url: str
    revisit_site: str | None
    revisit_file: str


def referred_originals(session: Session, narrowing: Narrowing | None = None) -> Iterator[Referred]:
    """The captures that the selected revisits refer to, once per referring revisit, in the
    original's id order (so one original's rows are adjacent). Streamed."""
    narrowing = narrowing or Narrowing()
    revisit, revisit_run = aliased(Capture), aliased(CrawlRun)
    inside = and_(true(), *_conditions(Capture, CrawlRun, narrowing))
    query = (
        capture_query()
        .add_columns(inside, revisit.url, revisit_run.site, revisit.warc_file)
        .join(revisit, revisit.refers_to_capture_id == Capture.id)
        .outerjoin(revisit_run, revisit.crawl_run_id == revisit_run.id)
        .where(*_conditions(revisit, revisit_run, narrowing))
        .order_by(Capture.id)
    )
    for row in session.execute(query).yield_per(ROWS_PER_FETCH):
        yield Referred(row_of(row), bool(row[_WIDTH]), *row[_WIDTH + 1:])


@dataclass(frozen=True, slots=True)
class Version:
    """One `documents` row (an extracted version) and the capture it was made from."""

    document: Document
    capture: CaptureRow
    newest: bool
    """The URL's newest document: the one its text file holds."""


def versions_by_url(session: Session, narrowing: Narrowing | None = None,
                    ) -> Iterator[tuple[str, list[Version]]]:
    """Each URL's versions whose capture is selected, oldest first, URL after URL (sorted).
    Streamed: memory holds one URL's versions."""
    newest = (select(Document.url.label("url"), func.max(Document.id).label("id"))
              .group_by(Document.url).subquery())
    query = (
        capture_query(narrowing)
        .add_columns(Document, newest.c.id)
        .join(Document, Document.capture_id == Capture.id)
        .join(newest, newest.c.url == Document.url)
        .where(Capture.blocked.is_(None))
        .order_by(Document.url, Document.id)
    )
    current: list[Version] = []
    for row in session.execute(query).yield_per(ROWS_PER_FETCH):
        document, newest_id = row[_WIDTH], row[_WIDTH + 1]
        if current and document.url != current[0].document.url:
            yield current[0].document.url, current
            # the session's identity map holds unmodified objects weakly: once dropped here they
            # are gone (expunging them instead would break yield_per's next partition)
            current = []
        current.append(Version(document, row_of(row), document.id == newest_id))
    if current:
        yield current[0].document.url, current


def _conditions(capture: Any, run: Any, narrowing: Narrowing) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if narrowing.run is not None:
        conditions.append(capture.crawl_run_id == narrowing.run)
    if narrowing.since is not None:
        conditions.append(capture.fetched_at >= narrowing.since)
    if narrowing.until is not None:
        conditions.append(capture.fetched_at < narrowing.until)
    if narrowing.site is not None:
        conditions.append(or_(run.site == narrowing.site, capture.crawl_run_id.is_(None)))
    if narrowing.warc_file is not None:
        conditions.append(capture.warc_file == narrowing.warc_file)
    return conditions


def urls_extracted_by_others(session: Session, version: str) -> set[str]:
    """The URLs whose newest document an extractor version other than `version` made."""
    newest = select(func.max(Document.id)).group_by(Document.url)
    return set(session.scalars(select(Document.url).where(
        Document.id.in_(newest), Document.extractor_version != version)))


def newest_2xx_fetches(session: Session, urls: Iterable[str]) -> dict[str, datetime]:
    """When each URL was last fetched with a 2xx response (or a revisit standing for one)."""
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
