"""Catalogue queries. Every function takes a Session; callers frame the transaction.

    with sessions.begin() as session:
        capture = repository.add_capture(session, new_capture)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, Capture, CrawlRun, Document, ExtractionFailure
from storage.textfiles import text_file_name


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---- crawl runs -------------------------------------------------------------


def start_run(session: Session, *, spider: str, site: str, hostname: str, pid: int) -> CrawlRun:
    run = CrawlRun(
        spider=spider, site=site, started_at=utcnow(), status="running", hostname=hostname, pid=pid
    )
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, *, status: str, stats: dict[str, Any]) -> CrawlRun:
    run = session.get_one(CrawlRun, run_id)
    run.finished_at = utcnow()
    run.status = status
    run.stats = stats
    return run


def crawl_run(session: Session, run_id: int | None = None) -> CrawlRun | None:
    """The run with that id, or the latest run."""
    if run_id is not None:
        return session.get(CrawlRun, run_id)
    return session.scalar(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1))


# ---- captures ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewCapture:
    """What the archive knows of one written response record."""

    url: str
    warc_type: str
    status: int
    fetched_at: datetime
    content_type: str | None
    payload_digest: str
    payload_length: int
    warc_file: str
    warc_offset: int
    warc_length: int
    warc_record_id: str
    ip_address: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    source_lastmod: datetime | None = None
    crawl_run_id: int | None = None


def add_capture(session: Session, new: NewCapture) -> Capture:
    capture = Capture(**asdict(new))
    session.add(capture)
    session.flush()
    return capture


def capture_by_record_id(session: Session, record_id: str) -> Capture | None:
    return session.scalar(select(Capture).where(Capture.warc_record_id == record_id))


def captures_of_run(session: Session, run_id: int) -> Sequence[Capture]:
    return session.scalars(
        select(Capture).where(Capture.crawl_run_id == run_id).order_by(Capture.id)
    ).all()


def capture_counts_by_url(session: Session, run_id: int | None = None) -> dict[str, int]:
    """How many captures each URL has (in one run, or overall): finds double fetches."""
    query = select(Capture.url, func.count()).group_by(Capture.url)
    if run_id is not None:
        query = query.where(Capture.crawl_run_id == run_id)
    return {url: count for url, count in session.execute(query)}


# ---- articles and their text files -----------------------------------------


def article_for_url(session: Session, url: str) -> Article:
    """The article row of `url`, created on first sight: its text file name never changes.

    The sequence number is the row id less one, so the first article is `000_...`.
    """
    article = session.scalar(select(Article).where(Article.url == url))
    if article is not None:
        return article
    article = Article(url=url, text_path="", first_seen_at=utcnow())
    session.add(article)
    session.flush()
    article.text_path = text_file_name(article.id - 1, url)
    session.flush()
    return article


# ---- documents and failures -------------------------------------------------


def add_document(
    session: Session,
    *,
    capture: Capture,
    title: str,
    published_at: datetime | None,
    text_path: str,
    text: str,
    extractor_version: str,
) -> Document:
    document = Document(
        url=capture.url,
        title=title,
        published_at=published_at,
        text_path=text_path,
        text_sha1=hashlib.sha1(text.encode("utf-8")).hexdigest(),
        extractor_version=extractor_version,
        extracted_at=utcnow(),
        capture_id=capture.id,
    )
    session.add(document)
    session.flush()
    return document


def add_extraction_failure(
    session: Session, *, capture: Capture, reason: str, detail: str, extractor_version: str
) -> ExtractionFailure:
    failure = ExtractionFailure(
        url=capture.url,
        reason=reason,
        detail=detail,
        extractor_version=extractor_version,
        failed_at=utcnow(),
        capture_id=capture.id,
    )
    session.add(failure)
    session.flush()
    return failure


def latest_documents(session: Session) -> Sequence[Document]:
    """The newest document of every URL."""
    newest = (
        select(Document.url, func.max(Document.id).label("id")).group_by(Document.url).subquery()
    )
    return session.scalars(
        select(Document).join(newest, Document.id == newest.c.id).order_by(Document.text_path)
    ).all()


def documents_of_run(session: Session, run_id: int) -> Sequence[Document]:
    return session.scalars(
        select(Document)
        .join(Capture, Document.capture_id == Capture.id)
        .where(Capture.crawl_run_id == run_id)
        .order_by(Document.id)
    ).all()


def failures_of_run(session: Session, run_id: int) -> Sequence[ExtractionFailure]:
    return session.scalars(
        select(ExtractionFailure)
        .join(Capture, ExtractionFailure.capture_id == Capture.id)
        .where(Capture.crawl_run_id == run_id)
        .order_by(ExtractionFailure.id)
    ).all()


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of the documented tables, for summaries."""
    models = {"crawl_runs": CrawlRun, "captures": Capture, "documents": Document}
    models["extraction_failures"] = ExtractionFailure
    return {name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in models.items()}
