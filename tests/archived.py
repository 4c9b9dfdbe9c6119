"""Build an archive (WARC files + SQLite catalogue) of chosen pages, without a crawl, with the
project's own writer and catalogue functions; and bodies no crawl should meet (bombs)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.warc.exchange import HttpExchange
from storage.warc.writer import WarcWriter

FETCHED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
MiB = 1 << 20


@dataclass(frozen=True)
class Page:
    url: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)


def archive_pages(data_dir: Path, pages: list[Page]) -> str:
    """Write `pages` as our crawl would (one WARC file) and catalogue them as captures of no
    run (so each belongs to the profile whose hosts include its host). Returns the DATABASE_URL."""
    database_url = f"sqlite:///{data_dir / 'archive.sqlite3'}"
    with WarcWriter(data_dir / "warc") as writer:
        pointers = [writer.write_exchange(HttpExchange(
            page.url, "GET", [("User-Agent", "test")], b"", "HTTP/1.1", 200, list(page.headers),
            page.body, FETCHED)) for page in pages]
    captures = [repository.NewCapture(
        url=page.url, warc_type="response", status=200, fetched_at=FETCHED,
        content_type=dict(page.headers).get("Content-Type"), payload_digest=pointer.payload_digest,
        payload_length=len(page.body), warc_file=pointer.warc_file, warc_offset=pointer.offset,
        warc_length=pointer.length, warc_record_id=pointer.record_id,
    ) for page, pointer in zip(pages, pointers, strict=True)]
    with open_catalogue(database_url).begin() as session:
        repository.insert_captures(session, captures)
    return database_url


def gzip_bomb(inflated: int, block: int = MiB) -> bytes:
    """One gzip member of `inflated` zero bytes (a multiple of `block`), made block by block:
    after a full flush the compressor starts afresh, so every block after the first compresses
    to the same bytes, and those are computed once. 1 GiB gives about 1 MB."""
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    parts, crc = [first, repeated], zlib.crc32(zeros, zlib.crc32(zeros))
    for _ in range(inflated // block - 2):
        parts.append(repeated)
        crc = zlib.crc32(zeros, crc)
    end = compressor.flush()  # the empty final block; its trailer is written by hand below
    trailer = crc.to_bytes(4, "little") + (inflated & 0xFFFFFFFF).to_bytes(4, "little")
    return b"".join(parts) + end[:-8] + trailer
