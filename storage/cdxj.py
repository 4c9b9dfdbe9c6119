"""CDXJ lines (pywb's index format) for catalogued captures, built from catalogue rows alone.

Why: a replay tool (pywb, ReplayWeb.page, a WACZ) finds a capture through a sorted CDXJ
index. Every field it needs is already in `captures`, so the index is derived from the
catalogue, never by re-reading WARC files. A line is what `cdxj-indexer` writes for the
same record: `SURT-key 14-digit-timestamp {"url", "mime", "status", "digest", "length",
"offset", "filename"}`, the key by the `surt` package pywb uses, the mime without its
parameters (`warc/revisit` for a revisit), values as strings.

The replay index is what a replay tool serves, so three kinds of capture differ from a
plain listing of records:

* a server-not-modified revisit (a 304 whose original is catalogued) keeps its own key,
  timestamp and url but points (filename, offset, length, mime, status, digest) at the
  record holding the payload it stands for, and keeps its own record's place under
  "revisit": pywb serves a 304 revisit itself, blank, and never looks further;
* a 304 whose original is not catalogued gets no line (counted: `unresolved_304`);
* a bot challenge (`captures.blocked`) is not the page: no line (counted: `blocked`).

Identical-payload revisits keep their standard `warc/revisit` line: pywb follows their
WARC-Refers-To-Target-URI and -Date to the original. Request records are not catalogued,
so they have no line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from storage.catalogue.selection import CaptureRow

__all__ = ["CdxjCounts", "line_of", "lines_of", "url_key"]

TIMESTAMP = "%Y%m%d%H%M%S"
_MIME_END = re.compile(r"[;\s]")
WHITESPACE = re.compile(r"\s")


@dataclass
class CdxjCounts:
    """What was indexed, and what was left out and why."""

    lines: int = 0
    blocked: int = 0  # bot challenges: archived, catalogued, never replayed as the page
    unresolved_304: int = 0  # 304s whose original is not catalogued
    unresolved_examples: list[str] = field(default_factory=list)

    def add(self, other: CdxjCounts) -> None:
        self.lines += other.lines
        self.blocked += other.blocked
        self.unresolved_304 += other.unresolved_304
        self.unresolved_examples += other.unresolved_examples[:5 - len(self.unresolved_examples)]


def lines_of(rows: Iterable[CaptureRow], counts: CdxjCounts) -> Iterator[str]:
    """The (unsorted) lines of `rows`, counting what is left out."""
    for row in rows:
        line = line_of(row, counts)
        if line is not None:
            counts.lines += 1
            yield line


def line_of(row: CaptureRow, counts: CdxjCounts | None = None) -> str | None:
    """The CDXJ line replaying this capture, or None (a bot challenge, an unresolved 304)."""
    counts = counts if counts is not None else CdxjCounts()
    if row.blocked is not None:
        counts.blocked += 1
        return None
    if row.warc_type == "revisit" and row.status == 304:
        return _not_modified_line(row, counts)
    fields = _fields(row.url, row.warc_type, row.content_type, row.status, row.payload_digest,
                     row.warc_file, row.warc_offset, row.warc_length)
    return _line(row.url, row.fetched_at, fields)


def import_key_maker() -> None:
    """Import what `url_key` needs now, e.g. in a background thread while a crawl archives,
    so that indexing the run's last file at its end does not wait the tenth of a second
    it takes."""
    import surt  # noqa: F401


def url_key(url: str) -> str:
    """The SURT key pywb and cdxj-indexer give a URL; a URL surt cannot read is its own key,
    with its whitespace percent-encoded: readers split a line at its first two spaces.
    (surt is imported here: with tldextract it is a tenth of a second of every crawl's and
    archive process's start-up, and it is needed only once a WARC file is indexed.)"""
    import surt

    try:
        return surt.surt(url)
    except Exception:  # surt raises whatever urllib raises on a malformed URL
        return WHITESPACE.sub(lambda space: quote(space.group()), url)


def _not_modified_line(row: CaptureRow, counts: CdxjCounts) -> str | None:
    """The 304 as the payload it stands for, at its own time; None if that is not catalogued."""
    if row.original_file is None or row.original_status == 304 or row.original_type is None:
        counts.unresolved_304 += 1
        if len(counts.unresolved_examples) < 5:
            counts.unresolved_examples.append(f"{row.url} at {_timestamp(row.fetched_at)}")
        return None
    assert row.original_offset is not None and row.original_length is not None
    fields = _fields(row.url, row.original_type, row.original_content_type,
                     row.original_status or 0, row.original_digest or "", row.original_file,
                     row.original_offset, row.original_length)
    fields["revisit"] = {"filename": row.warc_file, "offset": str(row.warc_offset),
                         "length": str(row.warc_length)}
    return _line(row.url, row.fetched_at, fields)


def _fields(url: str, warc_type: str, content_type: str | None, status: int, digest: str,
            warc_file: str, offset: int, length: int) -> dict[str, Any]:
    """cdxj-indexer's fields, in its order; a value it would not write is left out."""
    fields: dict[str, Any] = {"url": url}
    mime = "warc/revisit" if warc_type == "revisit" else _mime(content_type)
    if mime is not None:
        fields["mime"] = mime
    fields["status"] = str(status)
    if digest:
        fields["digest"] = digest
    fields.update(length=str(length), offset=str(offset), filename=warc_file)
    return fields


def _mime(content_type: str | None) -> str | None:
    """The media type without parameters, cut as cdxj-indexer cuts it (at `;` or a space)."""
    if not content_type:
        return content_type
    return _MIME_END.split(content_type, 1)[0].strip()


def _line(url: str, fetched_at: datetime, fields: dict[str, Any]) -> str:
    return f"{url_key(url)} {_timestamp(fetched_at)} {json.dumps(fields)}"


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime(TIMESTAMP)

