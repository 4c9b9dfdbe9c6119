"""Catalogue queries. Every function takes a Session; callers frame the transaction.

    with sessions.begin() as session:
        run = repository.start_run(session, spider="vov", site="vov", hostname=h, pid=p)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import (
    Article,
    Base,
    Capture,
    CrawlRun,
    Document,
    ExtractionFailure,
    ImportedFile,
)
from storage.catalogue.values import capture_values, fit_values
from storage.dates import utc_now
from storage.textfiles import text_file_name

# ---- crawl runs -------------------------------------------------------------


def start_run(session: Session, *, spider: str, site: str, hostname: str, pid: int) -> CrawlRun:
    run = CrawlRun(
        spider=spider, site=site, started_at=utc_now(), status="running", hostname=hostname, pid=pid
    )
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, *, status: str, stats: dict[str, Any]) -> CrawlRun:
    run = session.get_one(CrawlRun, run_id)
    run.finished_at = utc_now()
    run.status = status
    run.stats = stats
    return run


def crawl_run(session: Session, run_id: int | None = None) -> CrawlRun | None:
    """The run with that id, or the latest run."""
    if run_id is not None:
        return session.get(CrawlRun, run_id)
    return session.scalar(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1))


def mark_run_killed(session: Session, run_id: int) -> None:
    """A run that died without closing (its lock was found stale)."""
    run = session.get(CrawlRun, run_id)
    if run is not None and run.status == "running":
        run.status = "killed"


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
    revisit_profile: str | None = None
    refers_to_record_id: str | None = None
    refers_to_capture_id: int | None = None
    problems: dict[str, str] | None = None
    blocked: str | None = None


def insert_captures(session: Session, captures: Sequence[NewCapture]) -> dict[str, int]:
    """Bulk insert (one statement, no ORM bookkeeping); returns record id -> capture id."""
    if not captures:
        return {}
    rows = session.execute(
        insert(Capture).returning(Capture.warc_record_id, Capture.id, sort_by_parameter_order=True),
        [capture_values(capture) for capture in captures],
    )
    return {record_id: capture_id for record_id, capture_id in rows}


def insert_captures_salvaging(
        session: Session, captures: Sequence[NewCapture],
) -> tuple[dict[str, int], list[tuple[NewCapture, str]]]:
    """insert_captures, where one row the database refuses never costs the others: the
    batch goes in under a savepoint, and if it fails, row by row. Returns the ids, and the
    rows refused with the database's reason."""
    try:
        with session.begin_nested():
            return insert_captures(session, captures), []
    except SQLAlchemyError:
        pass
    ids: dict[str, int] = {}
    refused: list[tuple[NewCapture, str]] = []
    for capture in captures:
        try:
            with session.begin_nested():
                ids |= insert_captures(session, [capture])
        except SQLAlchemyError as error:
            reason = " ".join(str(getattr(error, "orig", error)).split())[:300]
            refused.append((capture, reason))
    return ids, refused


def known_record_ids(session: Session, record_ids: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(record_ids):
        found.update(session.scalars(select(Capture.warc_record_id)
                                     .where(Capture.warc_record_id.in_(chunk))))
    return found


def capture_id_by_record_id(session: Session, record_id: str) -> int | None:
    return session.scalar(select(Capture.id).where(Capture.warc_record_id == record_id))


def capture_by_record_id(session: Session, record_id: str) -> Capture | None:
    return session.scalar(select(Capture).where(Capture.warc_record_id == record_id))


def captures_of_run(session: Session, run_id: int) -> Sequence[Capture]:
    return session.scalars(
        select(Capture).where(Capture.crawl_run_id == run_id).order_by(Capture.id)
    ).all()


def _made_in_run(session: Session, model: type[Document | ExtractionFailure], run_id: int) -> Any:
    """Rows of `model` (documents or failures) made from the captures of one run."""
    return session.scalars(
        select(model)
        .join(Capture, model.capture_id == Capture.id)
        .where(Capture.crawl_run_id == run_id)
        .order_by(model.id)
    ).all()


def capture_counts_by_url(session: Session, run_id: int | None = None) -> dict[str, int]:
    """How many captures each URL has (in one run, or overall): finds double fetches."""
    query = select(Capture.url, func.count()).group_by(Capture.url)
    if run_id is not None:
        query = query.where(Capture.crawl_run_id == run_id)
    return {url: count for url, count in session.execute(query)}


# ---- articles and their text files -----------------------------------------


def article_text_paths(session: Session, urls: Iterable[str]) -> dict[str, str]:
    """The text file name of each article URL, creating the articles seen for the first time.

    The sequence number is the row id less one, so the first article is `000_...`. Safe
    when several crawlers share one catalogue: a URL another process just added is kept.
    """
    wanted = set(urls)
    if not wanted:
        return {}
    ids = _article_ids(session, wanted)
    missing = wanted - ids.keys()
    if missing:
        now = utc_now()
        session.execute(
            _insert_ignoring_duplicates(session, Article),
            [{"url": url, "first_seen_at": now} for url in sorted(missing)],
        )
        ids |= _article_ids(session, missing)
    return {url: text_file_name(article_id - 1, url) for url, article_id in ids.items()}


def _article_ids(session: Session, urls: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in in_chunks(urls):
        query = select(Article.url, Article.id).where(Article.url.in_(chunk))
        found.update((url, article_id) for url, article_id in session.execute(query))
    return found


def _insert_ignoring_duplicates(session: Session, model: type[Base]) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)  # other engines: a concurrent duplicate fails loudly instead


# ---- documents and failures -------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewDocument:
    url: str
    title: str
    published_at: datetime | None
    text_path: str
    text_sha1: str
    extractor_version: str
    extracted_at: datetime
    capture_id: int
    # Page metadata (Article.document_fields gives them all); None where the page states none.
    modified_at: datetime | None = None
    author: str | None = None
    section: str | None = None
    tags: list[str] | None = None
    language: str | None = None
    canonical_url: str | None = None
    image_count: int | None = None
    metadata_problems: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class NewFailure:
    url: str
    reason: str
    detail: str
    extractor_version: str
    failed_at: datetime
    capture_id: int


def latest_text_sha1(session: Session, urls: Iterable[str]) -> dict[str, str]:
    """The text_sha1 of each URL's newest document: an unchanged text gets no new row."""
    found: dict[str, str] = {}
    for chunk in in_chunks(urls):
        newest = (select(func.max(Document.id))
                  .where(Document.url.in_(chunk))
                  .group_by(Document.url))
        rows = session.execute(select(Document.url, Document.text_sha1)
                               .where(Document.id.in_(newest)))
        found.update((url, sha1) for url, sha1 in rows)
    return found


def insert_documents(session: Session, documents: Sequence[NewDocument]) -> None:
    """Bulk insert; a value the catalogue cannot hold (a NUL in an author, an over-long
    language tag) is normalised, with why in `metadata_problems`: a page's odd metadata
    never costs its batch."""
    rows = []
    for document in documents:
        values, problems = fit_values(Document, asdict(document))
        if problems:
            values["metadata_problems"] = {**(document.metadata_problems or {}), **problems}
        rows.append(values)
    if rows:
        session.execute(insert(Document), rows)


def insert_failures(session: Session, failures: Sequence[NewFailure]) -> None:
    if failures:
        session.execute(insert(ExtractionFailure),
                        [fit_values(ExtractionFailure, asdict(failure))[0] for failure in failures])


def document_versions(session: Session, url: str) -> list[tuple[Document, Capture]]:
    """Every document of a URL with the capture it came from, oldest first."""
    rows = session.execute(select(Document, Capture).join(Capture, Document.capture_id == Capture.id)
                           .where(Document.url == url).order_by(Document.id))
    return [(document, capture) for document, capture in rows.tuples()]


def latest_documents(session: Session) -> Sequence[Document]:
    """The newest document of every URL."""
    newest = (
        select(Document.url, func.max(Document.id).label("id")).group_by(Document.url).subquery()
    )
    return session.scalars(
        select(Document).join(newest, Document.id == newest.c.id).order_by(Document.text_path)
    ).all()


def documents_of_run(session: Session, run_id: int) -> Sequence[Document]:
    return _made_in_run(session, Document, run_id)


def failures_of_run(session: Session, run_id: int) -> Sequence[ExtractionFailure]:
    return _made_in_run(session, ExtractionFailure, run_id)


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of the documented tables, for summaries."""
    models = {"crawl_runs": CrawlRun, "captures": Capture, "documents": Document}
    models["extraction_failures"] = ExtractionFailure
    return {name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in models.items()}


# ---- imported files (scrapy warcimport) ---------------------------------------------


def imported_file(session: Session, path: str, size: int, sha256: str) -> ImportedFile | None:
    """The earlier import of exactly this file (same place, size and content), if any."""
    return session.scalar(select(ImportedFile).where(
        ImportedFile.path == path, ImportedFile.size == size, ImportedFile.sha256 == sha256))


def add_imported_file(session: Session, **fields: Any) -> ImportedFile:
    row = ImportedFile(imported_at=utc_now(), **fields)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class CaptureSpan:
    """The captures one import inserted into one file's place, named without holding their
    ids: the place they point into and the first and last id. Rows other writers inserted
    meanwhile may have ids in between, but they point elsewhere."""

    warc_file: str
    first_id: int
    last_id: int


def _in_span(span: CaptureSpan) -> tuple[Any, ...]:
    return (Capture.id.between(span.first_id, span.last_id), Capture.warc_file == span.warc_file)


def delete_captures_in(session: Session, span: CaptureSpan) -> None:
    """Only for rows this transaction inserted (an import that has to start over)."""
    session.execute(delete(Capture).where(*_in_span(span)))


@dataclass(frozen=True, slots=True)
class CaptureRef:
    """What revisit resolution needs to know of a capture."""

    id: int
    url: str
    fetched_at: datetime
    status: int
    payload_digest: str
    refers_to_record_id: str | None = None


def unresolved_revisits_in(session: Session, span: CaptureSpan, *, after_id: int,
                           limit: int) -> list[CaptureRef]:
    """The next `limit` revisits of the span without a known original, in id order after
    `after_id`: a file's revisits are resolved a batch at a time, however many it holds."""
    rows = session.execute(select(
        Capture.id, Capture.url, Capture.fetched_at, Capture.status, Capture.payload_digest,
        Capture.refers_to_record_id,
    ).where(*_in_span(span), Capture.id > after_id, Capture.warc_type == "revisit",
            Capture.refers_to_capture_id.is_(None)).order_by(Capture.id).limit(limit))
    return [CaptureRef(*row) for row in rows]


def responses_by_record_id(session: Session, record_ids: Iterable[str]) -> dict[str, CaptureRef]:
    found: dict[str, CaptureRef] = {}
    for chunk in in_chunks(record_ids):
        rows = session.execute(select(
            Capture.warc_record_id, Capture.id, Capture.url, Capture.fetched_at, Capture.status,
            Capture.payload_digest,
        ).where(Capture.warc_record_id.in_(chunk), Capture.warc_type == "response"))
        found.update((record_id, CaptureRef(*rest)) for record_id, *rest in rows)
    return found


def responses_by_digest(session: Session, digests: Iterable[str]) -> dict[str, list[CaptureRef]]:
    found: dict[str, list[CaptureRef]] = {}
    for chunk in in_chunks(set(digests) - {""}):
        rows = session.execute(select(
            Capture.id, Capture.url, Capture.fetched_at, Capture.status, Capture.payload_digest,
        ).where(Capture.payload_digest.in_(chunk), Capture.warc_type == "response"))
        for row in rows:
            found.setdefault(row.payload_digest, []).append(CaptureRef(*row))
    return found


def set_revisit_originals(session: Session, originals: dict[int, CaptureRef]) -> None:
    """Link revisits (capture id -> original); a revisit stored without an HTTP status
    (status 0) takes its original's."""
    for revisit_id, original in originals.items():
        status = case((Capture.status == 0, original.status), else_=Capture.status)
        session.execute(update(Capture).where(Capture.id == revisit_id)
                        .values(refers_to_capture_id=original.id, status=status))



def failure_keys(session: Session, capture_ids: Iterable[int]) -> set[tuple[int, str, str]]:
    """(capture id, reason, extractor version) of the failures already recorded for these
    captures: re-extraction records the same failure only once."""
    found: set[tuple[int, str, str]] = set()
    for chunk in in_chunks(capture_ids):
        rows = session.execute(select(
            ExtractionFailure.capture_id, ExtractionFailure.reason, ExtractionFailure.extractor_version,
        ).where(ExtractionFailure.capture_id.in_(chunk)))
        found.update((capture_id, reason, version) for capture_id, reason, version in rows)
    return found
