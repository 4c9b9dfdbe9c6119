"""Repair the WARC files a dead crawler left open, and find what they hold uncatalogued.

A crawler writes `<name>.open` and renames it when it closes the file. A process killed
mid-write leaves the `.open` file behind with, at worst, a partial last gzip member, and
records whose catalogue rows were still waiting for their batch's commit. Repair keeps
every complete record, cuts the partial tail, and renames the file; `uncatalogued` lists
the records for the catalogue. Files of live processes and of other hosts are left alone.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from storage.catalogue.repository import NewCapture
from storage.warc.exchange import OPEN_SUFFIX, REVISIT_PROFILES
from storage.warc.formats import read_warc_date
from storage.warc.writer import writer_of

logger = logging.getLogger(__name__)

PROFILE_KEYS = {uri: key for key, uri in REVISIT_PROFILES.items()}
READ_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Repaired:
    path: Path  # the closed file's final name
    records: int
    cut_bytes: int  # the partial tail removed


def abandoned(directory: Path, hostname: str,
              alive: Callable[[int, datetime | None], bool]) -> list[Path]:
    """`.open` files written on this host by processes that no longer run: `alive(pid,
    since)` is asked whether the writer, running when it named the file, still runs."""
    found = []
    for path in sorted(directory.glob(f"*{OPEN_SUFFIX}")):
        writer = writer_of(path.name)
        if writer is not None and writer.still_open and writer.on(hostname) and \
                not alive(writer.pid, writer.named_at):
            found.append(path)
    return found


def writer_pid(path: Path) -> int | None:
    """The pid of the process that wrote an `.open` file, from its name."""
    writer = writer_of(path.name)
    return writer.pid if writer is not None and writer.still_open else None


def final_name(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(OPEN_SUFFIX))


def repair(path: Path, catalogue: Callable[[Path, str], None] | None = None) -> Repaired | None:
    """Cut the file after its last complete record and fsync it; let `catalogue(path, name)`
    record what it holds; only then give it its final name (a crash before that leaves it
    `.open`, to be repaired again). None if another process is repairing it right now."""
    final = final_name(path)
    if final.exists():
        raise FileExistsError(f"cannot repair {path}: {final} exists already")
    with open(path, "r+b") as stream:
        try:
            fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        records, good_end = 0, 0
        for _, end in complete_members(path):
            records, good_end = records + 1, end
        size = os.fstat(stream.fileno()).st_size
        stream.truncate(good_end)
        stream.flush()
        os.fsync(stream.fileno())
        if catalogue is not None:
            catalogue(path, final.name)
        os.replace(path, final)
    return Repaired(final, records, size - good_end)


def complete_members(path: Path) -> Iterator[tuple[int, int]]:
    """(start, end) of each complete gzip member holding a WARC record, up to the first
    member that is cut short or is not a record."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = 0
        while start < size:
            end = _member_end(data, start, size)
            if end is None:
                return
            yield start, end
            start = end


def _member_end(data: mmap.mmap, start: int, size: int) -> int | None:
    decompressor = zlib.decompressobj(wbits=31)
    position, head = start, b""
    try:
        while not decompressor.eof:
            if position >= size:
                return None  # cut short: the writer died inside this record
            chunk = data[position:position + READ_SIZE]
            out = decompressor.decompress(chunk)
            if len(head) < 5:
                head += out[:5]
            position += len(chunk)
    except zlib.error:
        return None
    if not head.startswith(b"WARC/"):
        return None
    return position - len(decompressor.unused_data)


def uncatalogued(path: Path, warc_file: str, known: Callable[[list[str]], set[str]],
                 crawl_run_id: int | None) -> list[NewCapture]:
    """Response and revisit records of the file whose record ids the catalogue lacks."""
    captures = list(_captures(path, warc_file, crawl_run_id))
    have = known([c.warc_record_id for c in captures])
    return [c for c in captures if c.warc_record_id not in have]


def _captures(path: Path, warc_file: str, crawl_run_id: int | None) -> Iterator[NewCapture]:
    with open(path, "rb") as stream:
        records = ArchiveIterator(stream)
        for record in records:
            if record.rec_type not in ("response", "revisit"):
                continue
            headers, http = record.rec_headers, record.http_headers
            payload_length = len(record.raw_stream.read())
            yield NewCapture(
                url=headers.get_header("WARC-Target-URI"),
                warc_type=record.rec_type,
                status=int(http.get_statuscode()) if http else 0,
                fetched_at=read_warc_date(headers.get_header("WARC-Date")),
                content_type=http.get_header("Content-Type") if http else None,
                payload_digest=headers.get_header("WARC-Payload-Digest") or "",
                payload_length=payload_length,
                warc_file=warc_file,
                warc_offset=records.get_record_offset(),
                warc_length=records.get_record_length(),
                warc_record_id=headers.get_header("WARC-Record-ID"),
                ip_address=headers.get_header("WARC-IP-Address"),
                etag=http.get_header("ETag") if http else None,
                last_modified=http.get_header("Last-Modified") if http else None,
                crawl_run_id=crawl_run_id,
                revisit_profile=PROFILE_KEYS.get(headers.get_header("WARC-Profile") or ""),
                refers_to_record_id=headers.get_header("WARC-Refers-To"),
            )
