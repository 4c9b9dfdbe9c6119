"""What one scanned record of another tool's archive becomes in `captures`, if anything.

Why this module exists: the catalogue's columns are a documented interface, with limits
(a status and a date are required, record ids and digests fit 64 characters) that other
tools' records do not always meet. Each record is either a capture row (with any value the
catalogue could not hold as sent repaired and the repair in `problems`), a problem the
user is told about (a response without an HTTP head, no record id, a URL the catalogue
cannot hold), or nothing (requests, warcinfo, metadata, resources, non-HTTP responses
such as DNS).

A WARC-Date that cannot be read or is out of range (`9999-12-31`, ClueWeb09's
`2008-10-294T...`) is repaired with the nearest date the same file vouches for: the last
readable date of a record before it (the warcinfo's, for the first record), else the
file's modification time. The capture then sorts where it lay in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.catalogue.repository import NewCapture
from storage.catalogue.values import Problems, fitted, status_code, undecodable, url_refusal
from storage.dates import DateRefused
from storage.warc.formats import (
    arc_record_id,
    normalize_digest,
    normalize_record_id,
    read_arc_date,
    read_warc_date,
    warc_digest,
)
from storage.warc.records import ParsedRecord
from storage.warc.scanner import ScannedRecord, ScanProblem

__all__ = ["CAPTURED_TYPES", "CaptureRows", "RecordPlace"]

CAPTURED_TYPES = ("response", "revisit")


@dataclass(frozen=True, slots=True)
class RecordPlace:
    """Where the records of one scanned file (or WACZ member) are catalogued as lying."""

    warc_file: str
    """Absolute path of the file, or a name under imported/ for copies we made."""
    file_sha256: str
    """Of the imported file: ARC record ids are derived from it."""


class CaptureRows:
    """Capture rows of one scanned file, in file order (dates are repaired from the
    records before)."""

    def __init__(self, place: RecordPlace, file_date: datetime) -> None:
        self.place = place
        self.last_date = file_date
        self.last_date_from = "the file's modification time"

    def row(self, item: ScannedRecord) -> NewCapture | ScanProblem | None:
        record = item.record
        problems: Problems = {}
        fetched_at = self._date(record, problems)
        uri = record.target_uri or ""
        if record.record_type not in CAPTURED_TYPES or not uri.lower().startswith(("http:", "https:")):
            return None
        refusal = _refusal(record, uri)
        if refusal is not None:
            return ScanProblem(item.offset, refusal, item.length, "refused")
        return self._capture(item, uri, fetched_at, problems)

    def _date(self, record: ParsedRecord, problems: Problems) -> datetime:
        text = record.header("WARC-Date")
        try:
            date = read_arc_date(text) if record.format == "arc" else read_warc_date(text)
        except DateRefused as refused:
            problems["fetched_at"] = f"{refused}: set to {self.last_date_from}"
            return self.last_date
        if date is None:
            problems["fetched_at"] = f"no WARC-Date: set to {self.last_date_from}"
            return self.last_date
        self.last_date = date
        self.last_date_from = f"the date of the record before ({text})"
        return date

    def _capture(self, item: ScannedRecord, uri: str, fetched_at: datetime,
                 problems: Problems) -> NewCapture:
        record = item.record
        revisit = record.record_type == "revisit"
        http = record.http_headers
        undecodable(record.header_bytes, "warc_headers", problems)
        undecodable(record.http_head_bytes, "http_headers", problems)
        status = status_code(http.get_statuscode() if http else None, problems)
        row = NewCapture(
            url=uri,
            warc_type=record.record_type,
            status=status,
            fetched_at=fetched_at,
            content_type=fitted(http.get_header("Content-Type") if http else None, 255,
                                "content_type", problems),
            payload_digest=_payload_digest(record, revisit),
            payload_length=record.payload_length,
            warc_file=self.place.warc_file,
            warc_offset=item.offset,
            warc_length=item.length,
            warc_record_id=_record_id(item, self.place),
            ip_address=fitted(record.header("WARC-IP-Address"), 64, "ip_address", problems),
            etag=fitted(http.get_header("ETag") if http else None, 255, "etag", problems),
            last_modified=fitted(http.get_header("Last-Modified") if http else None, 64,
                                 "last_modified", problems),
            revisit_profile=_profile(record.header("WARC-Profile"), problems) if revisit else None,
            refers_to_record_id=normalize_record_id(record.header("WARC-Refers-To")) if revisit else None,
            problems=problems or None,  # last: the arguments above fill it
        )
        return row


def _refusal(record: ParsedRecord, uri: str) -> str | None:
    if record.format == "warc" and not normalize_record_id(record.record_id):
        return f"{record.record_type} record has no WARC-Record-ID"
    if record.http_error:
        return record.http_error
    if record.record_type == "response" and record.http_headers is None:
        return "response record holds no HTTP response (no status line)"
    return url_refusal(uri)


def _record_id(item: ScannedRecord, place: RecordPlace) -> str:
    if item.record.format == "arc":
        return arc_record_id(place.file_sha256, item.offset)
    record_id = normalize_record_id(item.record.record_id)
    assert record_id is not None
    return record_id


def _payload_digest(record: ParsedRecord, revisit: bool) -> str:
    """The record's own digest in normal form; for responses without one, ours."""
    digest = normalize_digest(record.header("WARC-Payload-Digest"))
    if digest:
        return digest
    if revisit:
        return ""
    return record.streamed_sha1 or warc_digest(record.payload)


def _profile(uri: str | None, problems: Problems) -> str | None:
    """`.../revisit/identical-payload-digest` -> `identical-payload-digest`, as our crawl writes."""
    if not uri:
        return None
    return fitted(uri.rstrip("/").rsplit("/", 1)[-1], 100, "revisit_profile", problems)
