"""Hostile archive files for import tests, generated (never stored): WARC records with any
bytes in any header, gzip members, bombs written without holding them in memory, zips
with any entry names, and the checks every import of them must pass."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator

from storage.catalogue.models import Capture
from storage.warc.reader import read_capture
from tests.crawl import PROJECT
from tests.peak_rss import run_measured

GiB = 1 << 30
BOMB_HEADER_URL = b"http://bomb.example/zeros"

def record(uri: bytes = b"http://example.com/", *, date: bytes = b"2024-05-01T10:00:00Z",
           status: bytes = b"HTTP/1.1 200 OK", headers: Iterable[tuple[bytes, bytes]] = (),
           body: bytes = b"<html><p>Hello</p></html>", warc_type: bytes = b"response",
           record_id: bytes | None = None, warc_extra: Iterable[bytes] = ()) -> bytes:
    """One WARC record, its bytes exactly as given (so any header can be broken)."""
    headers = list(headers)
    if not any(name.lower() == b"content-type" for name, _ in headers):
        headers.insert(0, (b"Content-Type", b"text/html"))
    http = status + b"\r\n" + b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + body
    record_id = record_id or f"<urn:uuid:{uuid.uuid4()}>".encode()
    lines = [b"WARC/1.0", b"WARC-Type: " + warc_type, b"WARC-Record-ID: " + record_id,
             b"WARC-Date: " + date, b"WARC-Target-URI: " + uri, *warc_extra,
             b"Content-Type: application/http; msgtype=response",
             b"Content-Length: " + str(len(http)).encode()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + http + b"\r\n\r\n"


def warcinfo(date: bytes = b"2024-05-01T09:00:00Z") -> bytes:
    block = b"software: hostile-test\r\n"
    return (b"WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Record-ID: <urn:uuid:" + str(uuid.uuid4()).encode()
            + b">\r\nWARC-Date: " + date + b"\r\nContent-Type: application/warc-fields\r\n"
            b"Content-Length: " + str(len(block)).encode() + b"\r\n\r\n" + block + b"\r\n\r\n")


def gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zero_bomb_deflate(prefix: bytes, zeros: int) -> tuple[bytes, int, int]:
    """Raw deflate of `prefix` + `zeros` zero bytes, made a MiB at a time: (data, crc, size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    parts, crc, block = [compressor.compress(prefix)], zlib.crc32(prefix), bytes(1 << 20)
    for _ in range(zeros // len(block)):
        parts.append(compressor.compress(block))
        crc = zlib.crc32(block, crc)
    parts.append(compressor.flush())
    return b"".join(parts), crc, len(prefix) + zeros


def bomb_record_prefix(zeros: int) -> bytes:
    return (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:" + str(uuid.uuid4()).encode()
            + b">\r\nWARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: " + BOMB_HEADER_URL
            + b"\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: "
            + str(zeros).encode() + b"\r\n\r\n")


def gzip_from_deflate(deflated: bytes, crc: int, size: int) -> bytes:
    """One gzip member around raw deflate data."""
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + deflated
            + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))


def write_zip(path: Path, entries: list[tuple[str, bytes, int, int, int]]) -> None:
    """A zip of (name, data as stored, crc, size, method 0 or 8) entries, names as given:
    zipfile would refuse or rewrite the hostile ones."""
    central, offset = [], 0
    with open(path, "wb") as out:
        for name, data, crc, size, method in entries:
            encoded = name.encode()
            fields = (20, 0, method, 0, 0, crc & 0xFFFFFFFF, len(data), size, len(encoded), 0)
            out.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields) + encoded + data)
            central.append(b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, *fields[:-1], 0, 0, 0, 0,
                                                         0, offset) + encoded)
            offset += 30 + len(encoded) + len(data)
        directory = b"".join(central)
        out.write(directory + b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries),
                                                          len(directory), offset, 0))


def deflated_entry(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data), 8


def scrapy_with_peak_rss(args: list[str],
                         env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run `scrapy ARGS`; its result and peak RSS in KiB (tests.peak_rss)."""
    return run_measured([sys.executable, "-m", "scrapy", *args], cwd=PROJECT,
                        env={**os.environ, **env})


def captures(sessions: sessionmaker[Session]) -> list[Capture]:
    with sessions() as session:
        return list(session.scalars(select(Capture).order_by(Capture.id)))


def assert_pointers_read_back(sessions: sessionmaker[Session], warc_dir: Path) -> list[Capture]:
    """Every catalogued pointer reads back its own record."""
    found = captures(sessions)
    for capture in found:
        back = read_capture(warc_dir, capture.warc_file, capture.warc_offset, capture.warc_length)
        assert (back.target_uri, back.record_type) == (capture.url, capture.warc_type)
        assert back.record_id.strip() and back.date is not None or capture.problems
    return found


def assert_valid_gzip_warc(path: Path) -> int:
    """warcio reads every record of a file we wrote, one gzip member each, digests checked."""
    count = 0
    with open(path, "rb") as handle:
        for item in ArchiveIterator(handle, check_digests=True):
            item.content_stream().read()
            assert item.digest_checker.passed is not False, item.digest_checker.problems
            count += 1
    with open(path, "rb") as handle:
        data = handle.read()
    members = 0
    while data:
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        decompressor.decompress(data)
        assert decompressor.eof
        data, members = decompressor.unused_data, members + 1
    assert members == count
    return count


def leftovers(directory: Path) -> list[Path]:
    """Partial files anywhere below `directory`."""
    return [p for p in directory.rglob("*") if p.name.endswith(".part")] if directory.exists() else []


def write_many_small_records(path: Path, count: int, *, date: bytes = b"2008-10-294T05:21:46-0700",
                             bad_every: int = 10, revisit_every: int = 100) -> None:
    """`count` small records, written as they are made (the file is never held), all dated
    `date` (malformed by default: every capture is repaired): every `bad_every`th has a NUL
    in its URL (a bad record, refused), every `revisit_every`th is a revisit of the record
    before it (linked by WARC-Refers-To), the others are responses."""
    with open(path, "wb", buffering=1 << 20) as out:
        for n in range(count):
            record_id = f"<urn:many:{n}>".encode()
            if n % revisit_every == revisit_every - 1:
                out.write(record(f"http://many.example/{n - 1}".encode(), date=date, warc_type=b"revisit",
                                 record_id=record_id, body=b"",
                                 warc_extra=[f"WARC-Refers-To: <urn:many:{n - 1}>".encode()]))
            elif n % bad_every == bad_every - 1:
                out.write(record(f"http://many.example/\x00{n}".encode(), date=date, record_id=record_id))
            else:
                out.write(record(f"http://many.example/{n}".encode(), date=date, record_id=record_id,
                                 body=b"<p>x</p>"))
