"""What one scanned record of another tool's archive becomes in `captures`, if anything.

Why this module exists: the catalogue's columns are a documented interface, with limits
(a status is required, record ids and digests fit 64 characters) that other tools' records
do not always meet. Each record is either a capture row, a problem the user is told about
(a response without a readable HTTP status line, a date that cannot be read, no record
id), or nothing (requests, warcinfo, metadata, resources, non-HTTP responses such as DNS).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.formats import arc_record_id, normalize_digest, normalize_record_id, sha1_digest
from storage.repository import NewCapture
from storage.scanner import ScannedRecord, ScanProblem

__all__ = ["CAPTURED_TYPES", "RecordPlace", "capture_row"]

CAPTURED_TYPES = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class RecordPlace:
    """Where the records of one scanned file (or WACZ member) are catalogued as lying."""

    warc_file: str
    """Absolute path of the file, or a name under imported/ for copies we made."""
    file_sha256: str
    """Of the imported file: ARC record ids are derived from it."""


def capture_row(item: ScannedRecord, place: RecordPlace) -> NewCapture | ScanProblem | None:
    record = item.record
    uri = record.target_uri or ""
    if record.record_type not in CAPTURED_TYPES or not uri.lower().startswith(("http:", "https:")):
        return None
    problem = _problem(item)
    if problem is not None:
        return ScanProblem(item.offset, problem)
    revisit = record.record_type == "revisit"
    http = record.http_headers
    assert record.date is not None
    return NewCapture(
        url=uri,
        warc_type=record.record_type,
        status=record.status or 0,
        fetched_at=record.date,
        content_type=_cut(http.get_header("Content-Type") if http else None, 255),
        payload_digest=_payload_digest(item, revisit),
        payload_length=len(record.payload),
        warc_file=place.warc_file,
        warc_offset=item.offset,
        warc_length=item.length,
        warc_record_id=_record_id(item, place),
        ip_address=_cut(record.header("WARC-IP-Address"), 64),
        etag=_cut(http.get_header("ETag") if http else None, 255),
        last_modified=_cut(http.get_header("Last-Modified") if http else None, 64),
        revisit_profile=_profile(record.header("WARC-Profile")) if revisit else None,
        refers_to_record_id=normalize_record_id(record.header("WARC-Refers-To")) if revisit else None,
    )


def _problem(item: ScannedRecord) -> str | None:
    record = item.record
    if record.format == "warc" and not record.record_id:
        return f"{record.record_type} record has no WARC-Record-ID"
    if record.date is None:
        return f"unreadable date {record.header('WARC-Date')!r}"
    if record.http_error:
        return record.http_error
    if record.record_type == "response" and (record.http_headers is None or record.status is None):
        return "response record holds no HTTP response (no status line)"
    return None


def _record_id(item: ScannedRecord, place: RecordPlace) -> str:
    if item.record.format == "arc":
        return arc_record_id(place.file_sha256, item.offset)
    record_id = normalize_record_id(item.record.record_id)
    assert record_id is not None
    return record_id


def _payload_digest(item: ScannedRecord, revisit: bool) -> str:
    """The record's own digest in normal form; for responses without one, ours."""
    digest = normalize_digest(item.record.header("WARC-Payload-Digest"))
    if digest:
        return digest
    return "" if revisit else sha1_digest(item.record.payload)


def _profile(uri: str | None) -> str | None:
    """`.../revisit/identical-payload-digest` -> `identical-payload-digest`, as our crawl writes."""
    if not uri:
        return None
    return _cut(uri.rstrip("/").rsplit("/", 1)[-1], 100)


def _cut(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None
