"""Read any catalogued record back by its pointer: our own WARC files and other tools' alike.

Why this module exists: `captures.warc_file` names either one of our own files, relative
to the WARC directory (written by our crawler: exactly one gzip member per record, whose
digests are checked by `storage.warc.writer.read_record`), or a file another tool wrote, which
`scrapy warcimport` catalogued where it lies (an absolute path), or copied into
`imported/` under the WARC directory when it had to be fixed (whole-file gzip) or taken
out of a zip. Those are read leniently: gzip or not, one member or several per record,
WARC or ARC, digests as they are. Re-extraction reads every capture through here.
"""

from __future__ import annotations

import zlib
from pathlib import Path, PurePath

from storage.warc.decoding import RECORD_HEADROOM, TooLarge, decode_or_keep
from storage.warc.formats import GZIP_MAGIC, WARC_MAGIC
from storage.warc.records import ParsedRecord, RecordError, parse_record
from storage.warc.sources import BytesSource
from storage.warc.writer import ArchivedResponse, WarcReadError, read_record

__all__ = ["IMPORTED_DIR", "is_foreign", "read_capture", "read_foreign_record"]

IMPORTED_DIR = "imported"
"""Folder under the WARC directory for the copies `scrapy warcimport` had to make."""


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
        return read_foreign_record(Path(warc_dir) / warc_file, offset, length, name=warc_file,
                                   decode_limit=decode_limit)
    return read_record(warc_dir, warc_file, offset, length, decode_limit=decode_limit)


def read_foreign_record(path: Path, offset: int, length: int, *, name: str | None = None,
                        decode_limit: int | None = None) -> ArchivedResponse:
    """Leniently parse the record held by file bytes [offset, offset+length)."""
    name = name or str(path)
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
    data = _gunzip_members(raw, name, offset, limit) if raw.startswith(GZIP_MAGIC) else raw
    source = BytesSource(data)
    source.skip_blank()
    kind = "warc" if source.peek(len(WARC_MAGIC)) == WARC_MAGIC else "arc"
    try:
        record = parse_record(source, kind)
    except RecordError as error:
        raise WarcReadError(name, offset, error.reason) from None
    return _archived(name, offset, length, record, decode_limit)


def _gunzip_members(raw: bytes, name: str, offset: int, limit: int | None) -> bytes:
    """All the gzip members of the span (a record may take several: wrong-chunks files),
    inflated to at most `limit` bytes in all (TooLarge past that)."""
    out = bytearray()
    rest = raw
    while rest.startswith(GZIP_MAGIC):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        room = 0 if limit is None else limit + 1 - len(out)
        try:
            out += decompressor.decompress(rest, room)
        except zlib.error as error:
            raise WarcReadError(name, offset, f"corrupt gzip data: {error}") from None
        if limit is not None and len(out) > limit:
            raise TooLarge(limit, "the record's gzip members")
        if not decompressor.eof:
            raise WarcReadError(name, offset, "gzip member is incomplete (file changed since import?)")
        rest = decompressor.unused_data
    return bytes(out)


def _archived(name: str, offset: int, length: int, record: ParsedRecord,
              decode_limit: int | None) -> ArchivedResponse:
    payload = record.payload
    decoded, error = decode_or_keep(payload, record.http_headers, decode_limit)
    return ArchivedResponse(
        warc_file=name,
        offset=offset,
        length=length,
        record_type=record.record_type,
        record_id=record.record_id or "",
        target_uri=record.target_uri,
        date=record.date,
        warc_headers=record.warc_headers,
        http_headers=record.http_headers,
        status=record.status,
        payload=payload,
        decoded_payload=decoded,
        decode_error=error,
    )
