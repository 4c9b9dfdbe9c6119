"""A gzip file read as one logical (uncompressed) stream, with every member's place kept.

Why this module exists: an archive from another tool is scanned as one logical stream, so
one parser finds the records; but a catalogue pointer must name *file* bytes. `GzipSource`
therefore keeps, for every gzip member it decompresses, where it lies in the file and which
logical bytes it holds: a record's pointer is the run of members that holds it. That also
finds the files whose records share members (whole-file gzip), which cannot be read by
offset.

Memory stays bounded: bytes are decompressed a slice at a time, and a gzip member that
inflates past `Inflation.floor` bytes at more than `Inflation.max_ratio` times its
compressed size is a decompression bomb (`SourceError` with code `decompression_bomb`).
Damage is reported as `SourceError` (with the file offset), after which `recover()` looks
for the next gzip member, so the rest of a damaged file is still read.
"""

from __future__ import annotations

import os
import re
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import BinaryIO

from storage.warc.decoding import GZIP_MAGIC
from storage.warc.sources import CHUNK, Inflation, Source, SourceError

__all__ = ["GzipSource", "SharedMembersFound"]

OUT_SLICE = 1 << 18  # logical bytes decompressed at a time: what bounds the buffer
_GZIP_MEMBER_START = GZIP_MAGIC + b"\x08"  # magic + deflate method
# What a WARC record (`WARC/1.1`) or an ARC record (`http://...`, `filedesc://...`) starts with
_RECORD_START = re.compile(rb"[\r\n]*(?:WARC/\d|[A-Za-z][A-Za-z0-9+.-]{0,15}:)")


@dataclass(slots=True)
class _Member:
    file_start: int
    logical_start: int
    file_end: int | None = None


class GzipSource(Source):
    """A gzip file range read as one logical stream, with the place of every member kept."""

    def __init__(self, handle: BinaryIO, start: int = 0, end: int | None = None,
                 inflation: Inflation | None = None) -> None:
        super().__init__(0)
        self._file = handle
        self._end = os.fstat(handle.fileno()).st_size if end is None else end
        self._inflation = inflation or Inflation()
        self._pending = b""  # compressed bytes read but not yet decompressed
        self._pending_at = start  # file offset of _pending[0]
        self._logical = 0  # logical bytes produced so far
        self._decompressor: zlib._Decompress | None = None
        self._members: list[_Member] = []
        self._starts: list[int] = []  # logical starts, for bisect
        handle.seek(start)

    # -- member bookkeeping ------------------------------------------------------------

    def _member_at(self, position: int) -> _Member:
        index = bisect_right(self._starts, position) - 1
        return self._members[max(index, 0)]

    def offset_of(self, position: int) -> int:
        if not self._members or position >= self._logical and self._decompressor is None:
            return self._pending_at  # at a member boundary: where the next one starts
        return self._member_at(position).file_start

    def file_end(self) -> int:
        return self._end

    def same_unit(self, first: int, second: int) -> bool:
        return self._member_at(first) is self._member_at(second)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The members holding [start, end); the last one is read to its end, but only
        a little past `end`: a member that goes on holds the next record too (shared)."""
        first, last = self._member_at(start), self._member_at(max(end - 1, start))
        while last.file_end is None and self._logical - end < CHUNK and self._more():
            pass
        if last.file_end is None:
            if self._decompressor is not None and last is self._members[-1]:
                raise SharedMembersFound(first.file_start)
            raise SourceError(last.file_start, "gzip member is cut short (truncated file?)")
        self._forget_before(first)
        return first.file_start, last.file_end - first.file_start

    def _forget_before(self, member: _Member) -> None:
        """Only the members of the current record (and the one before it, to tell whether
        two records share one) are ever needed again."""
        index = self._members.index(member)
        if index > 64:
            del self._members[:index - 1]
            del self._starts[:index - 1]

    # -- decompression -----------------------------------------------------------------

    def _read_file(self) -> bytes:
        size = min(CHUNK, self._end - (self._pending_at + len(self._pending)))
        return self._file.read(size) if size > 0 else b""

    def _more(self) -> bool:
        if not self._pending:
            self._pending = self._read_file()
        if not self._pending:
            if self._decompressor is not None:
                member = self._members[-1]
                self._decompressor = None
                raise SourceError(member.file_start, "gzip member is cut short (truncated file?)",
                                  "truncated")
            return False
        if self._decompressor is None:
            self._start_member()
        return self._decompress()

    def _start_member(self) -> None:
        while len(self._pending) < 3 and (more := self._read_file()):
            self._pending += more
        if not self._pending.startswith(_GZIP_MEMBER_START):
            offset, size = self._pending_at, len(self._pending)
            self._pending = b""
            raise SourceError(offset, f"not a gzip member ({size}+ bytes of other data)", "garbage")
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._members.append(_Member(self._pending_at, self._logical))
        self._starts.append(self._logical)

    def _decompress(self) -> bool:
        decompressor = self._decompressor
        assert decompressor is not None
        data, at = self._pending, self._pending_at
        member = self._members[-1]
        try:
            out = decompressor.decompress(data, OUT_SLICE)
        except zlib.error as error:
            self._decompressor = None
            self._pending, self._pending_at = b"", at + len(data)
            raise SourceError(member.file_start, f"corrupt gzip data: {error}", "corrupt_gzip") from None
        self._buf += out
        self._logical += len(out)
        if decompressor.eof:
            unused = decompressor.unused_data
            member.file_end = at + len(data) - len(unused)
            self._decompressor = None
            self._pending, self._pending_at = unused, member.file_end
            return True
        tail = decompressor.unconsumed_tail
        self._pending, self._pending_at = tail, at + len(data) - len(tail)
        produced, consumed = self._logical - member.logical_start, self._pending_at - member.file_start
        if self._inflation.is_bomb(produced, consumed):
            self._decompressor = None
            self._pending = b""
            raise SourceError(member.file_start, f"the gzip member inflates to "
                              f"over {produced:,} bytes from {consumed:,} (over "
                              f"{self._inflation.max_ratio:g}:1): not read", "decompression_bomb")
        return True

    def resume_after(self, position: int) -> bool:
        """A record that began its gzip member: at the next member (decompression cannot
        start anywhere else). One that did not (shared members): where the scan stands."""
        if not self._members:
            return True
        member = self._member_at(position)
        if member.logical_start != position:
            return True
        return self.recover(member.file_start) is not None

    def recover(self, after: int) -> int | None:
        """Go on reading at the first plausible gzip member that starts after file offset
        `after` (where the damage was found); None if there is none."""
        position = after + 1
        while (start := self._next_magic(position)) is not None:
            if self._plausible_member(start):
                self._restart(start)
                return start
            position = start + 1
        self._pending, self._pending_at, self._decompressor = b"", self._end, None
        self._reset(self._logical)
        return None

    def _restart(self, file_offset: int) -> None:
        self._file.seek(file_offset)
        self._pending, self._pending_at = b"", file_offset
        self._decompressor = None
        self._reset(self._logical)

    def _next_magic(self, position: int) -> int | None:
        self._file.seek(position)
        carry = b""
        while position < self._end:
            data = self._file.read(min(CHUNK, self._end - position))
            if not data:
                return None
            window = carry + data
            found = window.find(_GZIP_MEMBER_START)
            if found >= 0:
                return position - len(carry) + found
            carry = window[-2:]
            position += len(data)
        return None

    def _plausible_member(self, start: int) -> bool:
        """The magic bytes also occur inside compressed data by chance (a stored deflate
        block holds raw bytes: 1 in 16 million of them start like a member): a real member
        has no reserved flag bits, and its first bytes decompress to a record's start."""
        self._file.seek(start)
        head = self._file.read(min(4096, self._end - start))
        if len(head) < 10 or head[3] & 0xE0:
            return False
        try:
            first = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return False
        return _RECORD_START.match(first) is not None


class SharedMembersFound(SourceError):
    """A gzip member goes on past the end of the record it began: it holds more records."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset, f"the gzip member at offset {offset} holds more than one record",
                         "shared_members")
