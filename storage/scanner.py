"""Find every record of a WARC or ARC file, with the file bytes that hold it, and every
damaged place, without giving up on the rest of the file.

Why this module exists: importing another tool's archive means pointing the catalogue at
each record (offset and length in the file, as our own crawl does), and real files are
damaged in many small ways: a record cut short, a Content-Length one byte off, a corrupt
gzip member, garbage between records. Each such place becomes a `ScanProblem` (file
offset and reason) and scanning resumes at the next record; the good records around it
are still found. Files whose records share gzip members (whole-file gzip) cannot be
pointed into: `SharedMembers` is raised so the caller can recompress them first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from storage.formats import Sniffed
from storage.records import ParsedRecord, RecordError, looks_like_record, parse_record
from storage.sources import GzipSource, PlainSource, Source, SourceError

__all__ = ["ScanProblem", "ScannedRecord", "SharedMembers", "scan"]


@dataclass(frozen=True, slots=True)
class ScannedRecord:
    offset: int
    """File offset of the record (of its first gzip member, for gzip files)."""
    length: int
    """File bytes from `offset` that hold the whole record."""
    record: ParsedRecord


@dataclass(frozen=True, slots=True)
class ScanProblem:
    offset: int
    reason: str


class SharedMembers(Exception):
    """Records share gzip members (whole-file gzip): no record can be read by its offset."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the gzip member at offset {offset} holds more than one record")
        self.offset = offset


def scan(
    handle: BinaryIO, sniffed: Sniffed, *, start: int = 0, end: int | None = None,
    allow_shared: bool = False,
) -> Iterator[ScannedRecord | ScanProblem]:
    """Records and problems in file order. `start`/`end` bound a file range (a WARC stored
    inside a WACZ); `allow_shared` reads whole-file gzip too (offsets are then meaningless)."""
    if sniffed.kind not in ("warc", "arc"):
        raise ValueError(f"cannot scan {sniffed.label}")
    source: Source = GzipSource(handle, start, end) if sniffed.gzip else PlainSource(handle, start, end)
    return _Scanner(source, sniffed.kind, allow_shared).run()


class _Scanner:
    def __init__(self, source: Source, kind: str, allow_shared: bool) -> None:
        self.source = source
        self.kind = kind
        self.allow_shared = allow_shared
        self.previous_end: int | None = None

    def run(self) -> Iterator[ScannedRecord | ScanProblem]:
        while True:
            try:
                self.source.skip_blank()
                if self.source.at_end():
                    return
                yield from self._next()
            except SourceError as error:
                yield ScanProblem(error.offset, error.reason)
                if not self._recover(error):
                    return

    def _recover(self, error: SourceError) -> bool:
        self.previous_end = None
        return self.source.recover(error.offset)

    def _next(self) -> Iterator[ScannedRecord | ScanProblem]:
        source, start = self.source, self.source.tell()
        line = source.peekline()
        if not looks_like_record(line, self.kind):
            yield ScanProblem(source.offset_of(start), f"no {self.kind.upper()} record starts here "
                              f"({_show(line)}): skipped up to the next record")
            self._resync(start)
            return
        try:
            record = parse_record(source, self.kind)
        except RecordError as error:
            yield ScanProblem(source.offset_of(start), error.reason)
            self._resync(start)
            return
        end = source.tell()
        deferred: SourceError | None = None
        try:
            junk = self._junk_after()
        except SourceError as error:  # the *next* member is damaged: this record is fine
            junk, deferred = None, error
        if junk is not None:
            yield ScanProblem(source.offset_of(start), junk)
            self._resync(start)
            return
        yield self._located(start, end, record)
        if deferred is not None:
            raise deferred

    def _located(self, start: int, end: int, record: ParsedRecord) -> ScannedRecord:
        offset, length = self.source.span(start, end)
        shared = self.previous_end is not None and self.source.same_unit(self.previous_end - 1, start)
        if shared and not self.allow_shared:
            raise SharedMembers(offset)
        self.previous_end = end
        return ScannedRecord(offset, length, record)

    def _junk_after(self) -> str | None:
        """After a record: blank lines, then the end or the next record; else its length lied."""
        self.source.skip_blank()
        if self.source.at_end():
            return None
        line = self.source.peekline()
        if looks_like_record(line, self.kind):
            return None
        return (f"record is followed by {_show(line)} instead of the next record: "
                "its Content-Length is wrong, or the record was cut or padded")

    def _resync(self, failed_at: int) -> None:
        """Skip lines until one starts a record (never the one that just failed)."""
        source = self.source
        while not source.at_end():
            if source.tell() != failed_at and looks_like_record(source.peekline(), self.kind):
                return
            source.readline()


def _show(line: bytes) -> str:
    text = line[:40].decode("latin-1").rstrip("\r\n")
    return repr(text + ("..." if len(line) > 40 else ""))
