"""One WARC or ARC record parsed from a byte source: its headers, its HTTP head, its payload.

Why this module exists: the same parsing must serve the import scan (which has to find
record boundaries in damaged files, so it must know exactly how many bytes a record
took) and the reading back of one record by its pointer. warcio's record loader hides
the framing and silently tolerates short records; here the framing is explicit and every
way it can fail is a `RecordError` with a reason a user can act on. Header lines are still
parsed by warcio's `StatusAndHeadersParser`, so headers look the same as everywhere else.

Scanning gives `Streaming` limits: the block is then streamed, never held (only its first
`keep` bytes, which hold the HTTP head), its payload's length and SHA-1 are counted on the
way, every byte can go to a `sink` (recompression), and a record longer than `max_bytes`
is refused (`too_large`) before a byte of its block is read.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from warcio.statusandheaders import (
    StatusAndHeaders,
    StatusAndHeadersParser,
    StatusAndHeadersParserException,
)

from storage.warc.formats import WARC_MAGIC, parse_arc_date, parse_warc_date
from storage.warc.sources import MAX_LINE, Source

__all__ = ["ParsedRecord", "RecordError", "Streaming", "looks_like_record", "parse_record"]

WARC_VERSIONS = ["WARC/1.1", "WARC/1.0", "WARC/0.18", "WARC/0.17"]
HTTP_VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2", "HTTP/3"]
HTTP_VERBS = ["GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"]
HTTP_RECORD_TYPES = ("response", "revisit", "request")
_ARC_DATE_FIELD = re.compile(r"\d{14}\d*")
_WARC_HEADERS = StatusAndHeadersParser(WARC_VERSIONS, verify=True)
_HTTP_RESPONSE = StatusAndHeadersParser(HTTP_VERSIONS, verify=True)
_HTTP_REQUEST = StatusAndHeadersParser(HTTP_VERBS, verify=True)
MAX_HEADER_BYTES = 1 << 20
HEAD_KEEP = 1 << 18


class RecordError(Exception):
    """A record whose framing is broken; `reason` says how, for the user. `skip` is set
    when the framing is intact and the block can be passed over (a record too large)."""

    def __init__(self, reason: str, code: str = "bad_record", skip: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.skip = skip


@dataclass(frozen=True, slots=True)
class Streaming:
    """How a scan reads blocks: at most `max_bytes` each, keeping `keep` bytes, every
    byte also given to `sink` when there is one."""

    max_bytes: int
    keep: int = HEAD_KEEP
    sink: Callable[[bytes], None] | None = None


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """A record as stored: ARC records get WARC-style headers (WARC-Type response/warcinfo)."""

    format: str
    """``warc`` or ``arc``."""
    warc_headers: StatusAndHeaders
    header_bytes: bytes
    block: bytes
    http_headers: StatusAndHeaders | None
    http_length: int
    """Bytes of the block taken by the HTTP status line and headers."""
    http_error: str | None = None
    """Why an HTTP record's head could not be parsed."""
    block_length: int | None = None
    """The whole block's length when only its start is kept in `block` (streamed)."""
    streamed_sha1: str | None = None
    """``sha1:BASE32`` of the payload, counted while streaming."""

    def header(self, name: str) -> str | None:
        value = self.warc_headers.get_header(name)
        return value.strip() if value else None

    @property
    def record_type(self) -> str:
        return (self.header("WARC-Type") or "").lower()

    @property
    def record_id(self) -> str | None:
        return self.header("WARC-Record-ID")

    @property
    def target_uri(self) -> str | None:
        uri = self.header("WARC-Target-URI")
        if uri and uri.startswith("<") and uri.endswith(">"):  # wget 1.19
            uri = uri[1:-1]
        return uri.replace(" ", "%20") if uri else uri

    @property
    def date(self) -> datetime | None:
        value = self.header("WARC-Date")
        if self.format == "arc":
            return parse_arc_date(value or "")
        return parse_warc_date(value)

    @property
    def payload(self) -> bytes:
        """The HTTP entity body as stored (or the whole block for non-HTTP records); only
        its start when the block was streamed."""
        return self.block[self.http_length:]

    @property
    def payload_length(self) -> int:
        whole = len(self.block) if self.block_length is None else self.block_length
        return whole - self.http_length

    @property
    def http_head_bytes(self) -> bytes:
        return self.block[:self.http_length]

    @property
    def raw(self) -> bytes:
        return self.header_bytes + self.block

    @property
    def status(self) -> int | None:
        if self.http_headers is None:
            return None
        try:
            return int(self.http_headers.get_statuscode())
        except (TypeError, ValueError):
            return None


def looks_like_record(line: bytes, kind: str) -> bool:
    """Does a record start on this line? (used to find the next record after damage)"""
    if kind == "warc":
        return line.startswith(WARC_MAGIC)
    if line.startswith(b"filedesc://"):
        return True
    try:
        _arc_fields(line.decode("utf-8", "replace").rstrip("\r\n"))
    except RecordError:
        return False
    return True


def parse_record(source: Source, kind: str, streaming: Streaming | None = None) -> ParsedRecord:
    """Read one record from the source's position, exactly its header and block (the
    block held whole unless `streaming` says how to stream it)."""
    if kind == "warc":
        return _parse_warc(source, streaming)
    return _parse_arc(source, streaming)


def _read_block(source: Source, record: ParsedRecord, length: int,
                streaming: Streaming | None) -> ParsedRecord:
    """The block after `record`'s header: whole, or streamed (the start kept, the payload
    counted and hashed, every byte given to the sink)."""
    if streaming is not None and length > streaming.max_bytes:
        raise RecordError(f"the record's block is {length:,} bytes, over the "
                          f"{streaming.max_bytes:,} that are read (IMPORT_MAX_RECORD_BYTES)",
                          "too_large", skip=length)
    keep = length if streaming is None else min(length, streaming.keep)
    sink = streaming.sink if streaming is not None else None
    head = source.read(keep)
    if sink is not None:
        sink(record.header_bytes)
        sink(head)
    record = _with_http(_replace(record, block=head))
    if streaming is None:
        _check_length(len(head), length, record.format)
        return record
    if length > keep and record.http_headers is not None and record.http_length >= len(head):
        record = _replace(record, http_headers=None, http_length=0,
                          http_error=f"HTTP head longer than {keep:,} bytes")
    digest = hashlib.sha1(head[record.http_length:])
    got = len(head)
    for chunk in source.read_chunks(length - got):
        got += len(chunk)
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
    _check_length(got, length, record.format)
    sha1 = "sha1:" + base64.b32encode(digest.digest()).decode("ascii")
    return _replace(record, block_length=length, streamed_sha1=sha1)


def _check_length(got: int, length: int, kind: str) -> None:
    if got < length:
        why = " (file cut short, or Content-Length wrong)" if kind == "warc" else ""
        raise RecordError(f"record is truncated: {got} of {length} bytes{why}", "truncated")


# ---- WARC ---------------------------------------------------------------------------------


def _parse_warc(source: Source, streaming: Streaming | None) -> ParsedRecord:
    header_bytes = _read_header_block(source)
    try:
        headers = _WARC_HEADERS.parse(io.BytesIO(header_bytes))
    except StatusAndHeadersParserException as error:
        raise RecordError(f"not a WARC record: {_printable(error.statusline)}") from None
    except EOFError:
        raise RecordError("file ends where a record should start") from None
    length = _content_length(headers.get_header("Content-Length"))
    return _read_block(source, ParsedRecord("warc", headers, header_bytes, b"", None, 0),
                       length, streaming)


def _read_header_block(source: Source) -> bytes:
    """The header lines up to and including the blank line, exactly as stored."""
    lines = []
    size = 0
    while True:
        line = source.readline(MAX_LINE)
        lines.append(line)
        size += len(line)
        if not line:
            raise RecordError("record is truncated inside its header", "truncated")
        if not line.strip(b"\r\n"):
            return b"".join(lines)
        if len(lines) > 1000 or size > MAX_HEADER_BYTES:
            raise RecordError("record header has no end (over 1000 lines or 1 MiB)")


def _content_length(value: str | None) -> int:
    if value is None:
        raise RecordError("record has no Content-Length")
    try:
        length = int(value.strip())
    except ValueError:
        raise RecordError(f"bad Content-Length {value!r}") from None
    if length < 0:
        raise RecordError(f"bad Content-Length {value!r}")
    return length


# ---- ARC ----------------------------------------------------------------------------------


def _parse_arc(source: Source, streaming: Streaming | None) -> ParsedRecord:
    line = source.readline(MAX_LINE)
    if not line.strip():
        raise RecordError("file ends where a record should start")
    text = line.decode("utf-8", "replace").rstrip("\r\n")
    url, ip, date, content_type, length_text = _arc_fields(text)
    try:
        length = int(length_text)
    except ValueError:
        raise RecordError(f"bad ARC record length {length_text!r}") from None
    if length < 0:
        raise RecordError(f"bad ARC record length {length_text!r}")
    is_header = url.startswith("filedesc://")
    headers = StatusAndHeaders("", [
        ("WARC-Type", "warcinfo" if is_header else "response"),
        ("WARC-Target-URI", url),
        ("WARC-Date", date),
        ("WARC-IP-Address", ip),
        ("Content-Type", content_type),
        ("Content-Length", str(length)),
    ], protocol="WARC/1.0")
    return _read_block(source, ParsedRecord("arc", headers, line, b"", None, 0), length, streaming)


def _arc_fields(line: str) -> tuple[str, str, str, str, str]:
    """URL, IP, date, content type, length, for ARC v1 (5 fields) and v2 (10 fields) alike:
    the date is the first 14-digit field after the URL, so URLs with spaces still parse."""
    parts = line.split(" ")
    for index in range(2, len(parts) - 2):
        if _ARC_DATE_FIELD.fullmatch(parts[index]) and ":" in parts[0]:
            return " ".join(parts[:index - 1]), parts[index - 1], parts[index], parts[index + 1], parts[-1]
    raise RecordError(f"not an ARC record header: {_printable(line)}")


# ---- HTTP ---------------------------------------------------------------------------------


def _with_http(record: ParsedRecord) -> ParsedRecord:
    """Parse the HTTP head of response, revisit and request records with http(s) URIs."""
    uri = (record.target_uri or "").lower()
    if record.record_type not in HTTP_RECORD_TYPES or not uri.startswith(("http:", "https:")):
        return record
    if not record.block.strip():
        return record  # a revisit without HTTP headers is allowed
    parser = _HTTP_REQUEST if record.record_type == "request" else _HTTP_RESPONSE
    stream = io.BytesIO(record.block)
    try:
        http = parser.parse(stream)
    except StatusAndHeadersParserException as error:
        return _replace(record, http_error=f"bad HTTP status line: {_printable(error.statusline)}")
    except EOFError:
        return record
    return _replace(record, http_headers=http, http_length=stream.tell())


def _replace(record: ParsedRecord, **changes: object) -> ParsedRecord:
    values = {name: getattr(record, name) for name in ParsedRecord.__slots__}
    values.update(changes)
    return ParsedRecord(**values)  # type: ignore[arg-type]


def _printable(value: object) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    return repr(text[:60] + ("..." if len(text) > 60 else ""))
