"""What the crawl and `scrapy reextract` write to the catalogue and read back: captures,
articles (their text file names), documents and extraction failures. Every function takes
a Session; callers frame the transaction.

    with sessions.begin() as session:
        ids = repository.insert_captures(session, captures)

Crawl runs are in `runs`, the frontier in `frontier`, the site lock in `locks`, what
`scrapy warcimport` asks in `imported`, and the re-extraction's choice in `selection`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Article, Capture, Document, ExtractionFailure
from storage.catalogue.upserts import insert_ignoring_duplicates
from storage.catalogue.values import NO_STATUS, fit_values, http_status
from storage.dates import utc_now
from storage.textfiles import text_file_name

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


def capture_values(capture: NewCapture) -> dict[str, Any]:
    """The row to insert for `capture`, every value the catalogue cannot hold normalised and
    why in `problems`: the last check before any capture row is inserted, whoever made it.
    (A shallow copy: `dataclasses.asdict` deep-copies, and this runs for every row.)"""
    values, problems = fit_values(Capture, {f.name: getattr(capture, f.name)
                                            for f in fields(capture)})
    if capture.status != NO_STATUS:
        values["status"] = http_status(capture.status, problems)
    if problems:
        values["problems"] = {**(capture.problems or {}), **problems}
    return values


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
            insert_ignoring_duplicates(session, Article),
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


def documents_of_run(session: Session, run_id: int) -> Sequence[Document]:
    return _made_in_run(session, Document, run_id)


def failures_of_run(session: Session, run_id: int) -> Sequence[ExtractionFailure]:
    return _made_in_run(session, ExtractionFailure, run_id)


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


# ---- versions of an article -------------------------------------------------


def payload_capture(session: Session, capture: Capture) -> Capture | None:
    """The capture whose record holds `capture`'s payload: itself, or the original a revisit
    refers to (a revisit's record holds headers only); None if that is not catalogued."""
    if capture.warc_type != "revisit":
        return capture
    if capture.refers_to_capture_id is None:
        return None
    return session.get(Capture, capture.refers_to_capture_id)


def payload_capture_of_record(session: Session, record_id: str) -> Capture | None:
    """`payload_capture` of the capture of WARC record `record_id` (None if not catalogued)."""
    capture = session.scalar(select(Capture).where(Capture.warc_record_id == record_id))
    return payload_capture(session, capture) if capture is not None else None
