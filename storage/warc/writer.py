"""WARC/1.1 writer and random-access reader for the archive.

Why this module exists: every HTTP exchange the crawler makes is kept verbatim
in ISO 28500 WARC files so pages can be replayed (pywb), re-extracted later and
cited. The database keeps a :class:`WarcPointer` (file, offset, length) per
capture and :func:`read_record` follows it back to the bytes.

Layout decisions, all chosen so that standard tools (warcio, pywb, fastwarc)
can read the files and a crash never corrupts what was already written:

* one gzip member per record, so any record can be read by offset/length;
* every file starts with a ``warcinfo`` record;
* per exchange: the ``response`` record, then the ``request`` record, linked
  both ways with ``WARC-Concurrent-To``; the pair is written with a single
  ``write()`` and never split across files;
* a file is written as ``NAME.open`` and renamed to ``NAME`` on close, so a
  reader never takes a half-written file for a finished one;
* file names are unique per process (timestamp, serial, host, pid), so several
  crawler processes can share one directory.

This module must not import Scrapy: the crawler converts its objects into
:class:`HttpExchange`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import socket
import threading
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from warcio.bufferedreaders import BufferedReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter as _WarcioWriter

from storage.dates import utc_now
from storage.warc.decoding import RECORD_HEADROOM, DecodeError, TooLarge, decode_or_keep

__all__ = [
    "ArchivedResponse",
    "HttpExchange",
    "WarcPointer",
    "WarcReadError",
    "WarcWriter",
    "enable_warcio_brotli",
    "new_record_id",
    "read_record",
]

log = logging.getLogger(__name__)

WARC_VERSION = "1.1"
WARC_FORMAT = "WARC File Format 1.1"
WARC_CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
OPEN_SUFFIX = ".open"
DEFAULT_PROTOCOL = "HTTP/1.1"
ORIG_HEADER_PREFIX = "X-Archive-Orig-"
_GZIP_MAGIC = b"\x1f\x8b"
_RECORD_END = b"\r\n\r\n"
_BUILDER = RecordBuilder(warc_version=WARC_VERSION)  # stateless: builds records, adds digests


# --------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One HTTP request/response as seen by the crawler (no Scrapy types)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    protocol: str
    status: int
    response_headers: list[tuple[str, str]]
    """As sent by the server, in order, duplicates kept (Set-Cookie)."""
    response_body: bytes
    """As sent: still Content-Encoded (gzip/br), but already de-chunked."""
    fetched_at: datetime
    """Timezone-aware; written as UTC."""
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class WarcPointer:
    """Where a response record lives, so it can be read back without scanning."""

    warc_file: str
    """File name relative to the WARC directory, final name (no ``.open``)."""
    offset: int
    """Offset of the response record's gzip member."""
    length: int
    """Length in bytes of that gzip member."""
    record_id: str
    payload_digest: str
    block_digest: str


@dataclass(frozen=True, slots=True)
class ArchivedResponse:
    """One record read back from a WARC file by :func:`read_record`."""

    warc_file: str
    offset: int
    length: int
    record_type: str
    record_id: str
    target_uri: str | None
    date: datetime | None
    warc_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None
    status: int | None
    payload: bytes
    """HTTP body as stored (still Content-Encoded)."""
    decoded_payload: bytes
    """Body with Content-Encoding removed; equals ``payload`` if decoding failed."""
    decode_error: DecodeError | None = None
    """Why decoding failed: corrupt data, or `TooLarge` past the reader's decode limit."""

    @property
    def payload_digest(self) -> str | None:
        return self.warc_headers.get_header("WARC-Payload-Digest")

    @property
    def block_digest(self) -> str | None:
        return self.warc_headers.get_header("WARC-Block-Digest")


REVISIT_PROFILES = {
    "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}


@dataclass(frozen=True, slots=True)
class Revisit:
    """Write the response as a revisit record that refers to an earlier capture's payload."""

    profile: str  # a key of REVISIT_PROFILES
    refers_to_record_id: str
    refers_to_uri: str
    refers_to_date: datetime
    payload_digest: str  # the earlier payload's digest, which this response repeats

    def __post_init__(self) -> None:
        if self.profile not in REVISIT_PROFILES:
            raise ValueError(f"unknown revisit profile {self.profile!r}: {sorted(REVISIT_PROFILES)}")


class WarcReadError(Exception):
    """The bytes at a pointer are not exactly one intact WARC record."""

    def __init__(self, warc_file: str, offset: int, reason: str) -> None:
        super().__init__(f"{warc_file} at offset {offset}: {reason}")
        self.warc_file = warc_file
        self.offset = offset
        self.reason = reason


# --------------------------------------------------------------------------
# Defaults for the injectable clocks and ids
# --------------------------------------------------------------------------


def warc_digest(payload: bytes) -> str:
    """A WARC digest (`sha1:` + base32), as WARC-Payload-Digest and WARC-Block-Digest use."""
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")


def new_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` WARC-Record-ID."""
    return f"<urn:uuid:{uuid.uuid4()}>"


# --------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------


def _clean(value: str) -> str:
    """Fold CR/LF into spaces: a stray newline would end the header block early."""
    return value.replace("\r", " ").replace("\n", " ")


def _warc_date(when: datetime) -> str:
    """WARC-Date with microseconds (WARC/1.1 allows them) in UTC."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {when!r}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _reason_phrase(status: int) -> str:
    """Standard reason phrase; servers' own phrases are not kept by Scrapy."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _http_protocol(protocol: str | None) -> tuple[str, str | None]:
    """Status-line protocol plus the WARC-Protocol value for non-HTTP/1.x.

    Replay tools only parse ``HTTP/1.0``/``HTTP/1.1`` status lines, so an h2/h3
    exchange is written as HTTP/1.1 and its real protocol kept in WARC-Protocol.
    """
    value = (protocol or "").strip()
    if value.upper() in ("HTTP/1.0", "HTTP/1.1"):
        return value.upper(), None
    lowered = value.lower()
    if lowered.startswith(("h2", "http/2")):
        return DEFAULT_PROTOCOL, "h2"
    if lowered.startswith(("h3", "http/3")):
        return DEFAULT_PROTOCOL, "h3"
    return DEFAULT_PROTOCOL, None


def _request_target(url: str) -> str:
    """Origin-form request target (``/path?query``) for the request line."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _host_header(url: str) -> str:
    """Host header value: netloc without any userinfo."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _has_header(headers: Iterable[tuple[str, str]], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in headers)


def _fix_framing(headers: list[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    """Make the stored headers describe the stored (de-chunked) body.

    Readers trust Transfer-Encoding and Content-Length to find the body, so
    ``Transfer-Encoding`` is renamed to ``X-Archive-Orig-Transfer-Encoding`` and
    exactly one true ``Content-Length`` is ensured; a differing original (e.g. a
    truncated download) is kept as ``X-Archive-Orig-Content-Length``.
    """
    true_length = str(body_length)
    lengths = [value.strip() for key, value in headers if key.lower() == "content-length"]
    keep_length = lengths == [true_length]
    fixed: list[tuple[str, str]] = []
    for key, value in headers:
        lowered = key.lower()
        if lowered == "transfer-encoding" or (lowered == "content-length" and not keep_length):
            fixed.append((ORIG_HEADER_PREFIX + key, value))
        else:
            fixed.append((key, value))
    if not keep_length:
        fixed.append(("Content-Length", true_length))
    return fixed


def _clean_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(_clean(str(key)), _clean(str(value))) for key, value in headers]


def _response_http_headers(exchange: HttpExchange, protocol: str) -> StatusAndHeaders:
    """HTTP status line and headers of the response record."""
    # Any status a server sent is archived as it came (1000, 099): the record keeps what
    # happened; the catalogue normalises what it cannot hold (storage.catalogue.values).
    headers = _fix_framing(_clean_headers(exchange.response_headers), len(exchange.response_body))
    statusline = f"{exchange.status} {_reason_phrase(exchange.status)}"
    return StatusAndHeaders(statusline, headers, protocol=protocol)


def _request_http_headers(exchange: HttpExchange, protocol: str) -> StatusAndHeaders:
    """Request line (``GET /path?query HTTP/1.1``) and headers, Host first if added."""
    headers = _clean_headers(exchange.request_headers)
    if not _has_header(headers, "Host"):
        headers.insert(0, ("Host", _clean(_host_header(exchange.url))))
    framed = _has_header(headers, "Content-Length") or _has_header(headers, "Transfer-Encoding")
    if exchange.request_body or framed:
        headers = _fix_framing(headers, len(exchange.request_body))
    method = _clean(exchange.method or "GET").upper()
    statusline = f"{_clean(_request_target(exchange.url))} {protocol}"
    return StatusAndHeaders(statusline, headers, protocol=method)


def _warc_headers(pairs: Iterable[tuple[str, str | None]]) -> StatusAndHeaders:
    """WARC header block in the given order, skipping empty values."""
    headers = [(name, _clean(value)) for name, value in pairs if value]
    return StatusAndHeaders("", headers, protocol="WARC/" + WARC_VERSION)


def _check_record_id(record_id: str) -> str:
    if not record_id or any(ch.isspace() for ch in record_id):
        raise ValueError(f"invalid WARC-Record-ID: {record_id!r}")
    return record_id


def _safe_hostname(hostname: str) -> str:
    """Host name usable inside a file name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", hostname).strip("-.") or "localhost"


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def _serialize(records: Iterable[ArcWarcRecord]) -> tuple[bytes, list[tuple[int, int]]]:
    """Gzip each record into its own member; return bytes and (offset, length) spans.

    Records are built in memory first so the file gets one write per exchange:
    a failure before that write leaves the file untouched.
    """
    buffer = io.BytesIO()
    writer = _WarcioWriter(buffer, gzip=True, warc_version=WARC_VERSION)
    spans: list[tuple[int, int]] = []
    for record in records:
        start = buffer.tell()
        writer.write_record(record)
        spans.append((start, buffer.tell() - start))
    return buffer.getvalue(), spans


def _write_all(file: io.FileIO, data: bytes) -> None:
    """Unbuffered writes may be short; loop until everything is on its way to disk."""
    view = memoryview(data)
    while view:
        written = file.write(view)
        if not written:
            raise OSError("write returned 0 bytes")
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not possible on every platform, hence best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class WarcWriter:
    """Appends HTTP exchanges to rotating, gzip-per-record WARC/1.1 files.

    Thread-safe. Use as a context manager or call :meth:`close`; a file that is
    still open is visible only as ``NAME.open``.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        prefix: str = "vnarchive",
        max_size: int = 1_000_000_000,
        software: str = "vnarchive/0.1",
        operator_info: Mapping[str, str] | None = None,
        new_record_id: Callable[[], str] = new_record_id,
        now: Callable[[], datetime] = utc_now,
        file_name: Callable[[int], str] | None = None,
        hostname: str | None = None,
    ) -> None:
        if max_size <= 0:
            raise ValueError("max_size must be positive")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.max_size = max_size
        self.software = software
        self.operator_info = dict(operator_info or {})
        self.hostname = hostname or socket.gethostname()
        self._new_record_id = new_record_id
        self._now = now
        self._file_name = file_name or self._default_file_name
        self._lock = threading.Lock()
        self._serial = 0
        self._file: io.FileIO | None = None
        self._name: str | None = None
        self._warcinfo_id: str | None = None
        self._files_written: list[str] = []

    # -- public API --------------------------------------------------------

    @property
    def current_file(self) -> str | None:
        """Final name of the file being written, or None between files."""
        return self._name

    @property
    def current_path(self) -> Path | None:
        """Path of the file being written (with its ``.open`` suffix)."""
        return None if self._name is None else self.directory / (self._name + OPEN_SUFFIX)

    @property
    def files_written(self) -> list[str]:
        """Final names of the files closed so far, oldest first."""
        return list(self._files_written)

    def write_exchange(
        self, exchange: HttpExchange, *, response_record_id: str | None = None,
        revisit: Revisit | None = None,
    ) -> WarcPointer:
        """Archive one exchange (response, or revisit, then request); say where the first is."""
        with self._lock:
            # Open first: the records name the file's warcinfo record.
            file, name = self._ensure_open()
            response_id = _check_record_id(response_record_id or self._new_record_id())
            request_id = _check_record_id(self._new_record_id())
            response, request = self._build_pair(exchange, response_id, request_id, revisit)
            data, spans = _serialize([response, request])
            start = file.tell()
            self._append(file, data, start)
            offset, length = spans[0]
            pointer = WarcPointer(
                warc_file=name,
                offset=start + offset,
                length=length,
                record_id=response_id,
                payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
                block_digest=response.rec_headers.get_header("WARC-Block-Digest"),
            )
            if file.tell() >= self.max_size:
                self._close_current()
            return pointer

    def sync(self) -> None:
        """Make the records written so far durable (before the catalogue commits to them)."""
        with self._lock:
            if self._file is not None:
                os.fdatasync(self._file.fileno())

    def abandon(self) -> None:
        """Stop writing the current file but leave it `.open`: its records could not all be
        catalogued, and a later run's repair catalogues what the catalogue lacks."""
        with self._lock:
            if self._file is not None:
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = self._name = self._warcinfo_id = None

    def close(self) -> None:
        """Fsync, close and rename the current file; safe to call repeatedly.

        A later :meth:`write_exchange` starts a new file (next serial).
        """
        with self._lock:
            self._close_current()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- records -----------------------------------------------------------

    def _build_pair(
        self, exchange: HttpExchange, response_id: str, request_id: str,
        revisit: Revisit | None = None,
    ) -> tuple[ArcWarcRecord, ArcWarcRecord]:
        """Response (or revisit) and request records, each pointing at the other."""
        protocol, warc_protocol = _http_protocol(exchange.protocol)
        date = _warc_date(exchange.fetched_at)

        def common(record_type: str, record_id: str, other_id: str) -> StatusAndHeaders:
            return _warc_headers([
                ("WARC-Type", record_type),
                ("WARC-Record-ID", record_id),
                ("WARC-Date", date),
                ("WARC-Target-URI", exchange.url),
                ("WARC-IP-Address", exchange.ip_address),
                ("WARC-Protocol", warc_protocol),
                ("WARC-Concurrent-To", other_id),
                ("WARC-Warcinfo-ID", self._warcinfo_id),
            ])

        if revisit is None:
            response = self._record(
                exchange.url, "response", common("response", response_id, request_id),
                _response_http_headers(exchange, protocol), exchange.response_body,
            )
        else:  # headers only: the payload is the one the earlier record holds
            headers = common("revisit", response_id, request_id)
            for name, value in (
                ("WARC-Profile", REVISIT_PROFILES[revisit.profile]),
                ("WARC-Refers-To", revisit.refers_to_record_id),
                ("WARC-Refers-To-Target-URI", revisit.refers_to_uri),
                ("WARC-Refers-To-Date", _warc_date(revisit.refers_to_date)),
                ("WARC-Payload-Digest", revisit.payload_digest),
            ):
                headers.add_header(name, _clean(value))
            response = self._record(exchange.url, "revisit", headers,
                                    _response_http_headers(exchange, protocol), b"")
        request = self._record(
            exchange.url, "request", common("request", request_id, response_id),
            _request_http_headers(exchange, protocol), exchange.request_body,
        )
        return response, request

    @staticmethod
    def _record(
        url: str, record_type: str, warc_headers: StatusAndHeaders,
        http_headers: StatusAndHeaders, body: bytes,
    ) -> ArcWarcRecord:
        """warcio record; warcio adds the sha1 digests, Content-Type and Content-Length."""
        return _BUILDER.create_warc_record(
            url, record_type, payload=io.BytesIO(body), length=len(body),
            warc_headers=warc_headers, http_headers=http_headers,
        )

    def _warcinfo_record(self, name: str, record_id: str) -> ArcWarcRecord:
        """First record of every file: who wrote it, how, and under which policy."""
        fields = {
            "software": self.software,
            "format": WARC_FORMAT,
            "conformsTo": WARC_CONFORMS_TO,
            "hostname": self.hostname,
        }
        fields.update(self.operator_info)
        body = "".join(f"{_clean(k)}: {_clean(str(v))}\r\n" for k, v in fields.items() if v)
        payload = body.encode("utf-8")
        headers = _warc_headers([
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", _warc_date(self._now())),
            ("WARC-Filename", name),
        ])
        return _BUILDER.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
            warc_headers=headers,
        )

    # -- files -------------------------------------------------------------

    def _default_file_name(self, serial: int) -> str:
        stamp = self._now().astimezone(UTC).strftime("%Y%m%d%H%M%S%f")
        host = _safe_hostname(self.hostname)
        return f"{self.prefix}-{stamp}-{serial:05d}-{host}-{os.getpid()}.warc.gz"

    def _ensure_open(self) -> tuple[io.FileIO, str]:
        """The current file, opening a new one (with its warcinfo) if needed."""
        if self._file is None or self._name is None:
            self._open_next()
        assert self._file is not None and self._name is not None
        return self._file, self._name

    def _open_next(self) -> None:
        name = self._file_name(self._serial)
        self._serial += 1
        if not name or "/" in name or os.sep in name or name.endswith(OPEN_SUFFIX):
            raise ValueError(f"invalid WARC file name: {name!r}")
        final = self.directory / name
        if final.exists():
            raise FileExistsError(f"WARC file already exists: {final}")
        temp = self.directory / (name + OPEN_SUFFIX)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        file = os.fdopen(fd, "ab", buffering=0)
        warcinfo_id = _check_record_id(self._new_record_id())
        try:
            data, _ = _serialize([self._warcinfo_record(name, warcinfo_id)])
            _write_all(file, data)
        except BaseException:
            file.close()
            temp.unlink(missing_ok=True)
            raise
        self._file, self._name, self._warcinfo_id = file, name, warcinfo_id

    def _append(self, file: io.FileIO, data: bytes, start: int) -> None:
        """Write one exchange; on failure cut the file back so no partial pair remains."""
        try:
            _write_all(file, data)
        except BaseException:
            try:
                os.ftruncate(file.fileno(), start)
                file.seek(start)  # tell() gives the next record's offset: it must not lie
            except OSError:
                log.exception("could not truncate %s after a failed write; abandoning it", self.current_path)
                file.close()
                self._file = self._name = self._warcinfo_id = None
            raise

    def _close_current(self) -> None:
        file, name = self._file, self._name
        if file is None or name is None:
            return
        self._file = self._name = self._warcinfo_id = None
        try:
            os.fsync(file.fileno())
        finally:
            file.close()
        final = self.directory / name
        if final.exists():
            raise FileExistsError(f"refusing to overwrite {final}; data left in {final}{OPEN_SUFFIX}")
        os.rename(self.directory / (name + OPEN_SUFFIX), final)
        _fsync_directory(self.directory)
        self._files_written.append(name)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_record(directory: Path | str, warc_file: str, offset: int, length: int, *,
                decode_limit: int | None = None) -> ArchivedResponse:
    """Read exactly the gzip member at ``offset``/``length`` and parse its record.

    Falls back to ``warc_file + '.open'`` while the file is still being written.
    Raises :class:`WarcReadError` unless the bytes are exactly one intact record
    (complete gzip member, one WARC record, right length, digests matching).
    """

    def fail(reason: str) -> WarcReadError:
        return WarcReadError(warc_file, offset, reason)

    if offset < 0 or length <= 0:
        raise fail(f"invalid offset/length ({offset}, {length})")
    raw = _read_span(Path(directory), warc_file, offset, length, fail)
    data = _gunzip_member(raw, fail, None if decode_limit is None else decode_limit + RECORD_HEADROOM)
    record, payload = _parse_single_record(data, fail)
    return _archived(warc_file, offset, length, record, payload, decode_limit)


def _read_span(
    directory: Path, warc_file: str, offset: int, length: int, fail: Callable[[str], WarcReadError]
) -> bytes:
    """The raw bytes; tries the final name, the .open name, then the final name again
    (the file may have been renamed in between)."""
    relative = Path(warc_file)
    if relative.is_absolute() or ".." in relative.parts:
        raise fail("warc_file must be a path relative to the WARC directory")
    candidates = [directory / warc_file, directory / (warc_file + OPEN_SUFFIX), directory / warc_file]
    for path in candidates:
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read(length)
        except FileNotFoundError:
            continue
        if len(data) < length:
            raise fail(f"file ends after {len(data)} of {length} bytes (truncated file?)")
        return data
    raise fail(f"no such WARC file (nor {warc_file}{OPEN_SUFFIX}) in {directory}")


def _gunzip_member(raw: bytes, fail: Callable[[str], WarcReadError], limit: int | None) -> bytes:
    """Decompress; the span must be exactly one complete gzip member, inflating to at most
    `limit` bytes (TooLarge past that: a record is never inflated whole to be refused)."""
    if not raw.startswith(_GZIP_MAGIC):
        raise fail("no gzip member starts here (wrong offset?)")
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = decompressor.decompress(raw, 0 if limit is None else limit + 1)
    except zlib.error as exc:
        raise fail(f"corrupt gzip data: {exc}") from None
    if limit is not None and len(data) > limit:
        raise TooLarge(limit, "the record's gzip member")
    if not decompressor.eof:
        raise fail("gzip member is incomplete (truncated write, or length too short)")
    if decompressor.unused_data:
        raise fail(f"{len(decompressor.unused_data)} bytes follow the gzip member (length too long)")
    return data


def _parse_single_record(
    data: bytes, fail: Callable[[str], WarcReadError]
) -> tuple[ArcWarcRecord, bytes]:
    """Parse with warcio and check length, trailer and digests."""
    stream = io.BytesIO(data)
    loader = ArcWarcRecordLoader(verify_http=False, arc2warc=False)
    try:
        record = loader.parse_record_stream(stream, known_format="warc", check_digests=True)
        payload = record.raw_stream.read()
    except (ArchiveLoadFailed, StatusAndHeadersParserException, EOFError, ValueError) as exc:
        raise fail(f"not a WARC record: {str(exc).strip() or type(exc).__name__}") from None
    if record.length is None:
        raise fail("WARC record has no valid Content-Length")
    block_length = stream.tell() - record.rec_headers.total_len
    if block_length != record.length:
        raise fail(f"record block has {block_length} bytes, Content-Length says {record.length}")
    trailer = data[stream.tell():]
    if trailer != _RECORD_END:
        raise fail(f"expected exactly one record; {len(trailer)} bytes follow it instead of CRLF CRLF")
    if record.digest_checker.passed is False:
        raise fail("digest mismatch: " + "; ".join(record.digest_checker.problems))
    return record, payload


def _archived(
    warc_file: str, offset: int, length: int, record: ArcWarcRecord, payload: bytes,
    decode_limit: int | None,
) -> ArchivedResponse:
    headers = record.rec_headers
    http = record.http_headers
    decoded, error = decode_or_keep(payload, http, decode_limit)
    date = headers.get_header("WARC-Date")
    return ArchivedResponse(
        warc_file=warc_file,
        offset=offset,
        length=length,
        record_type=record.rec_type,
        record_id=headers.get_header("WARC-Record-ID"),
        target_uri=headers.get_header("WARC-Target-URI"),
        date=iso_date_to_datetime(date, tz_aware=True) if date else None,
        warc_headers=headers,
        http_headers=http,
        status=_status_code(record),
        payload=payload,
        decoded_payload=decoded,
        decode_error=error,
    )


def _status_code(record: ArcWarcRecord) -> int | None:
    if record.rec_type not in ("response", "revisit") or not record.http_headers:
        return None
    try:
        return int(record.http_headers.get_statuscode())
    except ValueError:
        return None


# --------------------------------------------------------------------------
# warcio + Google's Brotli
# --------------------------------------------------------------------------


class _WarcioBrotliDecompressor:
    """Gives Google's ``brotli.Decompressor`` the zlib-like face warcio expects.

    warcio 1.8 was written for *brotlipy* (``decompress()``, settable
    ``unused_data``); the ``Brotli`` package this project depends on has
    ``process()`` and no such attribute, so warcio's ``content_stream()``
    raises AttributeError on every ``Content-Encoding: br`` record.
    """

    def __init__(self) -> None:
        import brotli

        self._decompressor = brotli.Decompressor()
        self.unused_data = None

    def decompress(self, data: bytes) -> bytes:
        return self._decompressor.process(data)


def enable_warcio_brotli() -> bool:
    """Make warcio's ``content_stream()`` decode ``br`` in this process; True if it can."""
    try:
        import brotli
    except ImportError:
        return False
    factory = BufferedReader.DECOMPRESSORS.get("br")
    if factory is not None:
        try:
            factory()
            return True  # warcio's own support works (brotlipy installed)
        except AttributeError:
            pass
    if not hasattr(brotli.Decompressor, "process"):
        return False
    BufferedReader.DECOMPRESSORS["br"] = _WarcioBrotliDecompressor
    return True


# Done at import so that any in-process warcio reading (indexing, extraction)
# decodes br bodies; it only fills warcio's decompressor table.
enable_warcio_brotli()
