"""One article record, as `scrapy export` writes it and a crawl's `-O` feed carries it.

Why one module: the two must agree field for field on the same article (a user may mix a
crawl's feed with an export of the catalogue), so the names, their order and how each value
is written (dates ISO 8601 in UTC, tags a list) are decided here, once.

Two WARC pointers: `warc_*` names the capture the version was extracted from (for a revisit,
the revisit record, which holds headers only); `payload_warc_*` names the record holding the
page's bytes (the same record for a response; the original a revisit refers to; None when
that original is not catalogued). Either reads back with `storage.warc.reader.read_capture`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["FIELDS", "Pointer", "article_record", "iso_utc"]

FIELDS = (
    "url", "canonical_url", "title", "published_at", "modified_at", "author", "section", "tags",
    "language", "text", "text_path", "extractor_version", "fetched_at",
    "warc_file", "warc_offset", "warc_length", "warc_record_id",
    "payload_warc_file", "payload_warc_offset", "payload_warc_length", "payload_warc_record_id",
    "problems",
)
"""Every field of a record, in the order written (the CSV header)."""


@dataclass(frozen=True, slots=True)
class Pointer:
    """Where a WARC record lies: file (relative to the WARC folder, or absolute for an
    imported file read in place), offset and length of its bytes, and its record id."""

    warc_file: str
    offset: int
    length: int
    record_id: str

    @classmethod
    def of(cls, capture: Any) -> Pointer:
        """A catalogued capture's own record (a `captures` row, or a row of its columns)."""
        return cls(capture.warc_file, capture.warc_offset, capture.warc_length, capture.warc_record_id)


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, e.g. `2026-03-01T08:00:00Z` (microseconds only if any)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def article_record(*, url: str, title: str | None, text: str | None, text_path: str | None,
                   extractor_version: str | None, fetched_at: datetime | None,
                   pointer: Pointer | None, payload: Pointer | None,
                   fields: dict[str, Any] | None = None,
                   problems: dict[str, str] | None = None) -> dict[str, Any]:
    """The record of one extracted version. `fields` holds the `documents` metadata columns
    (published_at, modified_at, author, section, tags, language, canonical_url)."""
    meta = fields or {}
    return {
        "url": url,
        "canonical_url": meta.get("canonical_url"),
        "title": title,
        "published_at": iso_utc(meta.get("published_at")),
        "modified_at": iso_utc(meta.get("modified_at")),
        "author": meta.get("author"),
        "section": meta.get("section"),
        "tags": list(meta.get("tags") or []),
        "language": meta.get("language"),
        "text": text,
        "text_path": text_path,
        "extractor_version": extractor_version,
        "fetched_at": iso_utc(fetched_at),
        **_pointer_fields("warc_", pointer),
        **_pointer_fields("payload_warc_", payload),
        "problems": problems or None,
    }


def _pointer_fields(prefix: str, pointer: Pointer | None) -> dict[str, Any]:
    return {
        f"{prefix}file": pointer.warc_file if pointer else None,
        f"{prefix}offset": pointer.offset if pointer else None,
        f"{prefix}length": pointer.length if pointer else None,
        f"{prefix}record_id": pointer.record_id if pointer else None,
    }
