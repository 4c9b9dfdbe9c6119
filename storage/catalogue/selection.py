"""The catalogue's side of `scrapy reextract`'s choice: every capture that could be
re-extracted, grouped by URL, and the facts that narrow the choice (URLs whose newest
document another extractor version made; each URL's newest 2xx fetch).

Which of these captures count as articles is the crawler's business (its site profiles):
see `crawler.reextract.select`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Capture, CrawlRun, Document

__all__ = ["Candidate", "candidates_by_url", "newest_2xx_fetches", "urls_extracted_by_others"]

_Original = aliased(Capture)
ROWS_PER_FETCH = 2000  # rows streamed at a time: an archive may hold millions of captures


@dataclass(frozen=True, slots=True)
class Candidate:
    """A response or revisit capture (never a bot challenge), with what its original says
    if it is a revisit (None where the original is not catalogued)."""

    id: int
    url: str
    warc_type: str
    status: int
    fetched_at: datetime
    content_type: str | None
    warc_file: str
    warc_offset: int
    warc_length: int
    refers_to_capture_id: int | None
    site: str | None  # its crawl run's; None for an imported capture
    original_status: int | None
    original_content_type: str | None
    original_file: str | None
    original_offset: int | None
    original_length: int | None


def candidates_by_url(session: Session, *, run: int | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> Iterator[tuple[str, list[Candidate]]]:
    """The candidates of each URL, oldest first, URL after URL; only those of crawl run `run`
    and fetched in [`since`, `until`) if given. Streamed: memory stays bounded."""
    rows = session.execute(_candidates(run, since, until)).yield_per(ROWS_PER_FETCH)
    current: list[Candidate] = []
    for row in rows:
        if current and row.url != current[0].url:
            yield current[0].url, current
            current = []
        current.append(Candidate(*row))
    if current:
        yield current[0].url, current


def _candidates(run: int | None, since: datetime | None, until: datetime | None) -> Select[Any]:
    query = (
        select(Capture.id, Capture.url, Capture.warc_type, Capture.status, Capture.fetched_at,
               Capture.content_type, Capture.warc_file, Capture.warc_offset, Capture.warc_length,
               Capture.refers_to_capture_id, CrawlRun.site, _Original.status,
               _Original.content_type, _Original.warc_file, _Original.warc_offset,
               _Original.warc_length)
        .outerjoin(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
        .outerjoin(_Original, Capture.refers_to_capture_id == _Original.id)
        # a bot challenge is no copy of its page: never extracted
        .where(Capture.warc_type.in_(("response", "revisit")), Capture.blocked.is_(None))
        .order_by(Capture.url, Capture.fetched_at, Capture.id)
    )
    if run is not None:
        query = query.where(Capture.crawl_run_id == run)
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if until is not None:
        query = query.where(Capture.fetched_at < until)
    return query


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
