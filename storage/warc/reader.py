"""Read any catalogued record back by its pointer: our own WARC files and other tools' alike.

Why this module exists: `captures.warc_file` names either one of our own files, relative
to the WARC directory, or a file another tool wrote, which `scrapy warcimport` catalogued
where it lies (an absolute path), or copied into `imported/` under the WARC directory when
it had to be fixed (whole-file gzip) or taken out of a zip. `read_capture` is the one way
in for both, so no caller has to know who wrote a file:

* our own files are read strictly: we wrote exactly one gzip member per record, so the
  bytes at a pointer must be exactly one intact record whose digests match, and anything
  else is damage to report;
* other tools' files are read leniently (`storage.warc.records`): gzip or not, one member
  or several per record, WARC or ARC, digests as they are.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from pathlib import Path, PurePath

from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException

from storage.warc.decoding import (
    GZIP_MAGIC,
    RECORD_HEADROOM,
    CorruptData,
    TooLarge,
    decode_or_keep,
    gunzip_members,
)
from storage.warc.exchange import OPEN_SUFFIX, ArchivedResponse, WarcReadError
from storage.warc.formats import WARC_MAGIC, parse_warc_date
from storage.warc.records import RecordError, parse_record
from storage.warc.sources import BytesSource

__all__ = ["IMPORTED_DIR", "is_foreign", "read_capture", "read_record"]

IMPORTED_DIR = "imported"
"""Folder under the WARC directory for the copies `scrapy warcimport` had to make."""
_RECORD_END = b"\r\n\r\n"


def is_foreign(warc_file: str) -> bool:
    """True for files another tool wrote: absolute paths, or our copies under `imported/`."""
    path = PurePath(warc_file)
    return path.is_absolute() or (bool(path.parts) and path.parts[0] == IMPORTED_DIR)


def read_capture(warc_dir: Path | str, warc_file: str, offset: int, length: int, *,
                 decode_limit: int | None = None) -> ArchivedResponse:
    """The record at a catalogue pointer, whoever wrote the file. Raises WarcReadError.

    Its body is decoded to at most `decode_limit` bytes; past that, `decode_error` is a
    `storage.warc.decoding.TooLarge` and `decoded_payload` the body as stored.
    """
    if is_foreign(warc_file):
        return _read_foreign(Path(warc_dir) / warc_file, offset, length, warc_file, decode_limit)
    return read_record(warc_dir, warc_file, offset, length, decode_limit=decode_limit)


# ---- our own files: strictly ---------------------------------------------------------


def read_record(directory: Path | str, warc_file: str, offset: int, length: int, *,
                decode_limit: int | None = None) -> ArchivedResponse:
    """Read exactly the gzip member at ``offset``/``length`` of one of our own files.

    Falls back to ``warc_file + '.open'`` while the file is still being written.
    Raises :class:`WarcReadError` unless the bytes are exactly one intact record
    (complete gzip member, one WARC record, right length, digests matching).
    """

    def fail(reason: str) -> WarcReadError:
        return WarcReadError(warc_file, offset, reason)

    if offset < 0 or length <= 0:
        raise fail(f"invalid offset/length ({offset}, {length})")
    raw = _read_span(Path(directory), warc_file, offset, length, fail)
    data = _gunzip_one_member(raw, fail, None if decode_limit is None else decode_limit + RECORD_HEADROOM)
    record, payload = _parse_single_record(data, fail)
    headers = record.rec_headers
    date = headers.get_header("WARC-Date")
    return _archived(
        warc_file, offset, length, decode_limit, record_type=record.rec_type,
        record_id=headers.get_header("WARC-Record-ID"),
        target_uri=headers.get_header("WARC-Target-URI"),
        date=parse_warc_date(date),
        warc_headers=headers, http_headers=record.http_headers, status=_status_code(record),
        payload=payload,
    )


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


def _gunzip_one_member(raw: bytes, fail: Callable[[str], WarcReadError], limit: int | None) -> bytes:
    """Decompress; the span must be exactly one complete gzip member, inflating to at most
    `limit` bytes (TooLarge past that: a record is never inflated whole to be refused)."""
    if not raw.startswith(GZIP_MAGIC):
        raise fail("no gzip member starts here (wrong offset?)")
    try:
        data, end = gunzip_members(raw, limit, what="the record's gzip member", first_only=True)
    except CorruptData as error:
        raise fail(f"corrupt gzip data: {error.detail}") from None
    if end is None:
        raise fail("gzip member is incomplete (truncated write, or length too short)")
    if end < len(raw):
        raise fail(f"{len(raw) - end} bytes follow the gzip member (length too long)")
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


def _status_code(record: ArcWarcRecord) -> int | None:
    if record.rec_type not in ("response", "revisit") or not record.http_headers:
        return None
    try:
        return int(record.http_headers.get_statuscode())
    except ValueError:
        return None


# ---- other tools' files: leniently ---------------------------------------------------


def _read_foreign(path: Path, offset: int, length: int, name: str,
                  decode_limit: int | None) -> ArchivedResponse:
    """Leniently parse the record held by file bytes [offset, offset+length)."""
    limit = None if decode_limit is None else decode_limit + RECORD_HEADROOM
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            if limit is not None and length > limit and handle.read(2) != GZIP_MAGIC:
                raise TooLarge(limit, "the record, uncompressed")  # never read whole to refuse it
            handle.seek(offset)
            raw = handle.read(length)
    except OSError as error:
        raise WarcReadError(name, offset, f"cannot read the file ({error.strerror}): was it "
                            "moved or deleted since it was imported? Import it again") from None
    if len(raw) < length:
        raise WarcReadError(name, offset, f"file ends after {len(raw)} of {length} bytes "
                            "(changed since it was imported?)")
    data = _gunzip_all_members(raw, name, offset, limit) if raw.startswith(GZIP_MAGIC) else raw
    source = BytesSource(data)
    source.skip_blank()
    kind = "warc" if source.peek(len(WARC_MAGIC)) == WARC_MAGIC else "arc"
    try:
        record = parse_record(source, kind)
    except RecordError as error:
        raise WarcReadError(name, offset, error.reason) from None
    return _archived(
        name, offset, length, decode_limit, record_type=record.record_type,
        record_id=record.record_id or "", target_uri=record.target_uri, date=record.date,
        warc_headers=record.warc_headers, http_headers=record.http_headers,
        status=record.status, payload=record.payload,
    )


def _gunzip_all_members(raw: bytes, name: str, offset: int, limit: int | None) -> bytes:
    """All the gzip members of the span (a record may take several: wrong-chunks files),
    inflated to at most `limit` bytes in all (TooLarge past that)."""
    try:
        data, end = gunzip_members(raw, limit, what="the record's gzip members")
    except CorruptData as error:
        raise WarcReadError(name, offset, f"corrupt gzip data: {error.detail}") from None
    if end is None:
        raise WarcReadError(name, offset, "gzip member is incomplete (file changed since import?)")
    return data


# ---- both ----------------------------------------------------------------------------


def _archived(warc_file: str, offset: int, length: int, decode_limit: int | None, *,
              record_type: str, record_id: str, target_uri: str | None, date: datetime | None,
              warc_headers: StatusAndHeaders, http_headers: StatusAndHeaders | None,
              status: int | None, payload: bytes) -> ArchivedResponse:
    """The record as read back, its body decoded (or kept as stored, with why not)."""
    decoded, error = decode_or_keep(payload, http_headers, decode_limit)
    return ArchivedResponse(
        warc_file=warc_file, offset=offset, length=length, record_type=record_type,
        record_id=record_id, target_uri=target_uri, date=date, warc_headers=warc_headers,
        http_headers=http_headers, status=status, payload=payload, decoded_payload=decoded,
        decode_error=error,
    )
