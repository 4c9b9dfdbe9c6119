"""WARC/1.1 writer for the archive.

Why this module exists: every HTTP exchange the crawler makes is kept verbatim
in ISO 28500 WARC files so pages can be replayed (pywb), re-extracted later and
cited. The database keeps a :class:`~storage.warc.exchange.WarcPointer` (file,
offset, length) per capture and `storage.warc.reader.read_capture` follows it back
to the bytes.

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

The HTTP heads are repaired for replay in `storage.warc.headers`. This module must not
import Scrapy: the crawler converts its objects into `HttpExchange`.
"""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter as _WarcioWriter

from storage.atomic import fsync_directory
from storage.dates import utc_now
from storage.warc.exchange import (
    OPEN_SUFFIX,
    REVISIT_PROFILES,
    HttpExchange,
    Revisit,
    WarcPointer,
    new_record_id,
)
from storage.warc.headers import (
    WARC_VERSION,
    clean_value,
    http_protocol,
    request_http_headers,
    response_http_headers,
    warc_date,
    warc_headers,
)

__all__ = ["WarcWriter", "Writer", "writer_of"]

log = logging.getLogger(__name__)

WARC_FORMAT = "WARC File Format 1.1"
WARC_CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
_BUILDER = RecordBuilder(warc_version=WARC_VERSION)  # stateless: builds records, adds digests


def _check_record_id(record_id: str) -> str:
    if not record_id or any(ch.isspace() for ch in record_id):
        raise ValueError(f"invalid WARC-Record-ID: {record_id!r}")
    return record_id


STAMP_FORMAT = "%Y%m%d%H%M%S%f"  # the time in our WARC file names (UTC)


def safe_hostname(hostname: str) -> str:
    """Host name usable inside a file name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", hostname).strip("-.") or "localhost"


# what `_default_file_name` writes: prefix-stamp-serial-host-pid.warc.gz, `.open` while written
_OWN_NAME = re.compile(
    r"^.+-(?P<stamp>\d{20})-\d{5}-(?P<host>.+)-(?P<pid>\d+)\.warc\.gz(?P<open>\.open)?$")


@dataclass(frozen=True, slots=True)
class Writer:
    """Who wrote a WARC file of ours, read from its name (closed, or `.open` while written)."""

    host: str  # as safe_hostname wrote it
    pid: int
    named_at: datetime | None
    still_open: bool

    def on(self, hostname: str) -> bool:
        return self.host == safe_hostname(hostname)


def writer_of(file_name: str) -> Writer | None:
    """None for a name our writer does not make (another tool's file, an imported copy)."""
    match = _OWN_NAME.match(file_name)
    if match is None:
        return None
    try:
        named_at: datetime | None = datetime.strptime(match["stamp"], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        named_at = None
    return Writer(match["host"], int(match["pid"]), named_at, match["open"] is not None)


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
        pid: int | None = None,
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
        # the process a file's name says wrote it: a crawl's, even when a helper process of
        # the crawl writes (start-up repair asks whether that process is alive)
        self.pid = pid or os.getpid()
        # False: the caller closes a full file with rotate_if_full(), once it is safe to (the
        # crawl's archive thread: once the catalogue holds every record of the file)
        self.rotate_on_write = True
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
            if self.rotate_on_write and file.tell() >= self.max_size:
                self._close_current()
            return pointer

    def rotate_if_full(self) -> bool:
        """Close (fsync, rename) the current file if it has reached max_size."""
        with self._lock:
            if self._file is None or self._file.tell() < self.max_size:
                return False
            self._close_current()
            return True

    def sync(self) -> None:
        """Make the records written so far durable (before the catalogue commits to them)."""
        with self._lock:
            if self._file is not None:
                os.fdatasync(self._file.fileno())

    def abandon(self) -> None:
        """Stop writing the current file but leave it `.open`: its records could not all be
        catalogued, and a later run's repair catalogues what the catalogue lacks."""
        with self._lock:
            file, self._file = self._file, None
            self._name = self._warcinfo_id = None  # whatever happens below: never written again
            if file is not None:
                try:
                    os.fsync(file.fileno())
                finally:
                    file.close()

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
        protocol, warc_protocol = http_protocol(exchange.protocol)
        date = warc_date(exchange.fetched_at)

        def common(record_type: str, record_id: str, other_id: str) -> StatusAndHeaders:
            return warc_headers([
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
                response_http_headers(exchange, protocol), exchange.response_body,
            )
        else:  # headers only: the payload is the one the earlier record holds
            headers = common("revisit", response_id, request_id)
            for name, value in (
                ("WARC-Profile", REVISIT_PROFILES[revisit.profile]),
                ("WARC-Refers-To", revisit.refers_to_record_id),
                ("WARC-Refers-To-Target-URI", revisit.refers_to_uri),
                ("WARC-Refers-To-Date", warc_date(revisit.refers_to_date)),
                ("WARC-Payload-Digest", revisit.payload_digest),
            ):
                headers.add_header(name, clean_value(value))
            response = self._record(exchange.url, "revisit", headers,
                                    response_http_headers(exchange, protocol), b"")
        request = self._record(
            exchange.url, "request", common("request", request_id, response_id),
            request_http_headers(exchange, protocol), exchange.request_body,
        )
        return response, request

    @staticmethod
    def _record(
        url: str, record_type: str, record_headers: StatusAndHeaders,
        http_headers: StatusAndHeaders, body: bytes,
    ) -> ArcWarcRecord:
        """warcio record; warcio adds the sha1 digests, Content-Type and Content-Length."""
        return _BUILDER.create_warc_record(
            url, record_type, payload=io.BytesIO(body), length=len(body),
            warc_headers=record_headers, http_headers=http_headers,
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
        body = "".join(f"{clean_value(k)}: {clean_value(str(v))}\r\n" for k, v in fields.items() if v)
        payload = body.encode("utf-8")
        headers = warc_headers([
            ("WARC-Type", "warcinfo"),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", warc_date(self._now())),
            ("WARC-Filename", name),
        ])
        return _BUILDER.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(payload), length=len(payload),
            warc_headers=headers,
        )

    # -- files -------------------------------------------------------------

    def _default_file_name(self, serial: int) -> str:
        stamp = self._now().astimezone(UTC).strftime(STAMP_FORMAT)
        host = safe_hostname(self.hostname)
        return f"{self.prefix}-{stamp}-{serial:05d}-{host}-{self.pid}.warc.gz"

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
        fsync_directory(self.directory)  # the file's name is durable before any row names it
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
        fsync_directory(self.directory)
        self._files_written.append(name)
