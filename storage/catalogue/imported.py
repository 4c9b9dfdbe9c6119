"""What `scrapy warcimport` asks of the catalogue: the files imported before, the captures
one import inserted (named by span, never by id lists), and the originals its revisits
refer to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Capture, ImportedFile
from storage.dates import utc_now


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
