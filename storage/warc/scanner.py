"""Find every record of a WARC or ARC file, with the file bytes that hold it, and every
damaged place, without giving up on the rest of the file.

Why this module exists: importing another tool's archive means pointing the catalogue at
each record (offset and length in the file, as our own crawl does), and real files are
damaged in many small ways: a record cut short, a Content-Length one byte off, a corrupt
gzip member, garbage between records, a decompression bomb. Each such place becomes a
`ScanProblem` saying exactly what was skipped (file offset, length, reason) and scanning
resumes at the next record start after the damage (plain files: the next `WARC/` line,
looked for from just after the failed record's start; gzip files: the next gzip member),
so the good records around it are still found. Files whose records share gzip members
(whole-file gzip) cannot be pointed into: `SharedMembers` is raised so the caller can
recompress them first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from storage.warc.formats import Sniffed
from storage.warc.gzipsource import GzipSource, SharedMembersFound
from storage.warc.records import ParsedRecord, RecordError, Streaming, looks_like_record, parse_record
from storage.warc.sources import Inflation, PlainSource, Source, SourceError

__all__ = ["ScanLimits", "ScanProblem", "ScannedRecord", "SharedMembers", "scan"]

_WARC_START = re.compile(rb"WARC/\d+\.\d+\r?\n")
_TRAILER = {"warc": 2, "arc": 1}  # newlines that end a record (CRLF CRLF; LF)


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
    length: int | None = None
    """File bytes skipped from `offset` (None: not known, or nothing was skipped)."""
    code: str = "bad_record"
    """A word for the kind: bad_record, truncated, garbage, corrupt_gzip,
    decompression_bomb, too_large, refused, not_archive, unsafe_name."""
    part: str = ""
    """Which WARC inside a WACZ, when the file is one."""


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """What a scan reads at most: bytes of one record, and how far a gzip member inflates."""

    max_record_bytes: int = 1 << 30
    inflation: Inflation = Inflation()


class SharedMembers(Exception):
    """Records share gzip members (whole-file gzip): no record can be read by its offset."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"the gzip member at offset {offset} holds more than one record")
        self.offset = offset


def scan(
    handle: BinaryIO, sniffed: Sniffed, *, start: int = 0, end: int | None = None,
    allow_shared: bool = False, limits: ScanLimits | None = None,
    sink: Callable[[bytes], None] | None = None,
) -> Iterator[ScannedRecord | ScanProblem]:
    """Records and problems in file order. `start`/`end` bound a file range (a WARC stored
    inside a WACZ); `allow_shared` reads whole-file gzip too (offsets are then meaningless);
    `sink` is given every byte of every record (see storage.imports.recompress)."""
    if sniffed.kind not in ("warc", "arc"):
        raise ValueError(f"cannot scan {sniffed.label}")
    limits = limits or ScanLimits()
    source: Source = (GzipSource(handle, start, end, limits.inflation) if sniffed.gzip
                      else PlainSource(handle, start, end))
    streaming = Streaming(limits.max_record_bytes, sink=sink)
    return _Scanner(source, sniffed.kind, allow_shared, streaming).run()


class _Scanner:
    def __init__(self, source: Source, kind: str, allow_shared: bool, streaming: Streaming) -> None:
        self.source = source
        self.kind = kind
        self.allow_shared = allow_shared
        self.streaming = streaming
        self.previous_end: int | None = None

    def run(self) -> Iterator[ScannedRecord | ScanProblem]:
        while True:
            try:
                self.source.skip_blank()
                if self.source.at_end():
                    return
                yield from self._next()
            except SharedMembersFound as shared:
                if not self.allow_shared:
                    raise SharedMembers(shared.offset) from None
            except SourceError as error:
                self.previous_end = None
                resume = self.source.recover(error.offset)
                yield self._problem(error.offset, error.reason, resume, error.code)
                if resume is None:
                    return

    def _problem(self, offset: int, reason: str, resume: int | None, code: str) -> ScanProblem:
        end = self.source.file_end() if resume is None else resume
        return ScanProblem(offset, reason, max(end - offset, 0), code)

    def _next(self) -> Iterator[ScannedRecord | ScanProblem]:
        source, start = self.source, self.source.tell()
        offset = source.offset_of(start)
        line = source.peekline()
        if not looks_like_record(line, self.kind):
            resume = self._resync(start, rewind=False)
            yield self._problem(offset, f"no {self.kind.upper()} record starts here "
                                f"({_show(line)}): skipped up to the next record", resume, "garbage")
            return
        try:
            record = parse_record(source, self.kind, self.streaming)
        except RecordError as error:
            yield from self._failed(start, offset, error)
            return
        end = source.tell()
        deferred: SourceError | None = None
        try:
            junk = self._junk_after()
        except SourceError as error:  # the *next* member is damaged: this record is fine
            junk, deferred = None, error
        if junk is not None:
            resume = self._resync(start)
            yield self._problem(offset, junk, resume, "bad_record")
            return
        yield self._located(start, end, record)
        if deferred is not None:
            raise deferred

    def _failed(self, start: int, offset: int, error: RecordError) -> Iterator[ScanProblem]:
        """A record that cannot be read: passed over whole when its framing holds and the
        bytes can be skipped without reading them (plain files), else resynchronised."""
        source = self.source
        if error.skip is not None and isinstance(source, PlainSource):
            source.skip(error.skip)
            if self._junk_after() is None:
                yield ScanProblem(offset, error.reason, source.tell() - offset, error.code)
                return
        resume = self._resync(start)
        yield self._problem(offset, error.reason, resume, error.code)

    def _located(self, start: int, end: int, record: ParsedRecord) -> ScannedRecord:
        if self.allow_shared:  # recompression: where it lay does not matter
            return ScannedRecord(self.source.offset_of(start), end - start, record)
        if self.previous_end is not None and self.source.same_unit(self.previous_end - 1, start):
            raise SharedMembers(self.source.offset_of(start))
        offset, length = self.source.span(start, end)
        self.previous_end = end
        return ScannedRecord(offset, length, record)

    def _junk_after(self) -> str | None:
        """After a record: its trailer, then the end or the next record; else its length
        lied. Garbage after a whole trailer is the next problem, not this record's."""
        blank = self.source.skip_blank()
        if self.source.at_end():
            return None
        line = self.source.peekline()
        if looks_like_record(line, self.kind) or blank >= _TRAILER[self.kind]:
            return None
        return (f"record is followed by {_show(line)} instead of the next record: "
                "its Content-Length is wrong, or the record was cut or padded")

    def _resync(self, failed_at: int, rewind: bool = True) -> int | None:
        """Go to the next record start after logical `failed_at` (going back to just after
        it where that is possible: a wrong length may have swallowed the next record);
        return its file offset, None at the end."""
        source = self.source
        if not rewind:
            source.read(1)
        elif not source.resume_after(failed_at):
            return None
        if self.kind == "warc":
            found = source.find(_WARC_START, 16)
        else:
            if source.tell() == failed_at + 1:  # inside the failed header line: to its end
                source.readline()
            found = self._next_arc_line(failed_at)
        return source.offset_of(source.tell()) if found else None

    def _next_arc_line(self, failed_at: int) -> bool:
        source = self.source
        while not source.at_end():
            if source.tell() != failed_at and looks_like_record(source.peekline(), self.kind):
                return True
            source.readline()
        return False


def _show(line: bytes) -> str:
    text = line[:40].decode("latin-1").rstrip("\r\n")
    return repr(text + ("..." if len(line) > 40 else ""))
