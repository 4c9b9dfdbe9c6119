"""Byte sources for scanning archive files: plain bytes, or gzip with its members mapped.

Why this module exists: an archive from another tool is scanned as one logical
(uncompressed) stream, whatever its compression, so one parser finds the records; but a
catalogue pointer must name *file* bytes. `GzipSource` therefore keeps, for every gzip
member it decompresses, where it lies in the file and which logical bytes it holds: a
record's pointer is the run of members that holds it. That also finds the files whose
records share members (whole-file gzip), which cannot be read by offset.

Memory stays bounded whatever the input: bytes are decompressed a slice at a time, never
more than a few hundred KiB are buffered, and a gzip member that inflates past
`Inflation.floor` bytes at more than `Inflation.max_ratio` times its compressed size is a
decompression bomb (`SourceError` with code `decompression_bomb`), not something to read.

Damage is reported as `SourceError` (with the file offset), after which `recover()` looks
for the next gzip member, so the rest of a damaged file is still read.
"""

from __future__ import annotations

import os
import re
import zlib
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from storage.warc.formats import GZIP_MAGIC

__all__ = ["BytesSource", "GzipSource", "Inflation", "PlainSource", "Source", "SourceError"]

CHUNK = 1 << 16
MAX_LINE = 1 << 16
OUT_SLICE = 1 << 18  # logical bytes decompressed at a time: what bounds the buffer
_GZIP_MEMBER_START = GZIP_MAGIC + b"\x08"  # magic + deflate method
_NOT_BLANK = re.compile(rb"[^\r\n]")
# What a WARC record (`WARC/1.1`) or an ARC record (`http://...`, `filedesc://...`) starts with
_RECORD_START = re.compile(rb"[\r\n]*(?:WARC/\d|[A-Za-z][A-Za-z0-9+.-]{0,15}:)")


@dataclass(frozen=True, slots=True)
class Inflation:
    """When decompressed output stops being believable: past `floor` bytes, more than
    `max_ratio` output bytes per input byte (a zero-filled gzip bomb reaches ~1000:1)."""

    max_ratio: float = 200.0
    floor: int = 8 << 20

    def is_bomb(self, produced: int, consumed: int) -> bool:
        return produced > self.floor and produced > self.max_ratio * max(consumed, 1)


class SourceError(Exception):
    """The bytes at `offset` (in the file) cannot be read as they should: corrupt or cut
    gzip, or a decompression bomb; `code` names the kind for reports."""

    def __init__(self, offset: int, reason: str, code: str = "damaged") -> None:
        super().__init__(f"offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason
        self.code = code


class Source:
    """A buffered logical byte stream: read, readline, peek, tell; subclasses supply bytes."""

    def __init__(self, position: int = 0) -> None:
        self._buf = bytearray()
        self._at = 0  # index of the next unread byte in _buf
        self._buf_pos = position  # logical position of _buf[0]

    # -- what subclasses provide -------------------------------------------------------

    def _more(self) -> bool:
        """Append more logical bytes to the buffer; False at the end."""
        raise NotImplementedError

    def span(self, start: int, end: int) -> tuple[int, int]:
        """(file offset, length) of the file bytes that hold logical bytes [start, end)."""
        raise NotImplementedError

    def offset_of(self, position: int) -> int:
        """The file offset to report for a logical position (a gzip member's start)."""
        raise NotImplementedError

    def file_end(self) -> int:
        """The file offset where the scanned range ends."""
        raise NotImplementedError

    def same_unit(self, first: int, second: int) -> bool:
        """True if two logical positions lie in the same gzip member (always False for plain)."""
        return False

    def recover(self, after: int) -> int | None:
        """After damage at file offset `after`: continue at the next readable place and
        return its file offset; None if there is none."""
        return None

    def resume_after(self, position: int) -> bool:
        """After a record that failed at logical `position`: go to the earliest place
        after it where the next record may start (or stay, if going back is impossible);
        False if nothing is left."""
        return True

    def skip(self, count: int) -> int:
        """Skip `count` logical bytes; return how many there were."""
        skipped = 0
        for chunk in self.read_chunks(count):
            skipped += len(chunk)
        return skipped

    # -- reading -----------------------------------------------------------------------

    def tell(self) -> int:
        return self._buf_pos + self._at

    def available(self) -> int:
        return len(self._buf) - self._at

    def _ensure(self, n: int) -> None:
        while self.available() < n and self._more():
            pass

    def peek(self, n: int) -> bytes:
        self._ensure(n)
        return bytes(self._buf[self._at:self._at + n])

    def read(self, n: int) -> bytes:
        self._ensure(n)
        data = bytes(self._buf[self._at:self._at + n])
        self._at += len(data)
        self._compact()
        return data

    def read_chunks(self, n: int) -> Iterator[bytes]:
        """`n` bytes (fewer at the end) in pieces of at most CHUNK: a record's block is
        streamed, never held whole."""
        left = n
        while left > 0:
            if not self.available() and not self._more():
                return
            data = self.read(min(left, CHUNK, self.available()))
            left -= len(data)
            if data:
                yield data

    def readline(self, limit: int = MAX_LINE) -> bytes:
        """One line with its end, at most `limit` bytes (warcio's parsers call this)."""
        if limit is None or limit < 0:
            limit = MAX_LINE
        searched = 0
        while True:
            end = self._buf.find(b"\n", self._at + searched, self._at + limit)
            if end >= 0:
                return self.read(end + 1 - self._at)
            searched = self.available()
            if searched >= limit or not self._more():
                return self.read(min(limit, self.available()))

    def peekline(self, limit: int = MAX_LINE) -> bytes:
        self._ensure(1)
        while True:
            end = self._buf.find(b"\n", self._at, self._at + limit)
            if end >= 0:
                return bytes(self._buf[self._at:end + 1])
            if self.available() >= limit or not self._more():
                return bytes(self._buf[self._at:self._at + limit])

    def skip_blank(self) -> int:
        """Skip CR and LF: what lies between records (the CRLF CRLF trailer, or more, or
        less). Returns how many bytes were skipped."""
        skipped = 0
        while True:
            self._ensure(1)
            if not self.available():
                return skipped
            found = _NOT_BLANK.search(self._buf, self._at)
            end = found.start() if found else len(self._buf)
            skipped += end - self._at
            self._at = end
            self._compact()
            if found:
                return skipped

    def find(self, pattern: re.Pattern[bytes], keep: int) -> bool:
        """Move to the next match of `pattern` (at most `keep` bytes long); False, at the
        end, if there is none."""
        while True:
            self._ensure(1)
            found = pattern.search(self._buf, self._at)
            if found:
                self._at = found.start()
                self._compact()
                return True
            self._at = max(self._at, len(self._buf) - keep)
            self._compact()
            if not self._more():
                self._at = len(self._buf)
                return False

    def at_end(self) -> bool:
        self._ensure(1)
        return self.available() == 0

    def _compact(self) -> None:
        if self._at > CHUNK * 4:
            del self._buf[:self._at]
            self._buf_pos += self._at
            self._at = 0

    def _reset(self, position: int) -> None:
        self._buf = bytearray()
        self._at = 0
        self._buf_pos = position


class PlainSource(Source):
    """An uncompressed file range: logical positions are file offsets."""

    def __init__(self, handle: BinaryIO, start: int = 0, end: int | None = None) -> None:
        super().__init__(start)
        handle.seek(start)
        self._file = handle
        self._end = os.fstat(handle.fileno()).st_size if end is None else end

    def _more(self) -> bool:
        size = min(CHUNK, self._end - self._file.tell())
        data = self._file.read(size) if size > 0 else b""
        if not data:
            return False
        self._buf += data
        return True

    def span(self, start: int, end: int) -> tuple[int, int]:
        return start, end - start

    def offset_of(self, position: int) -> int:
        return position

    def file_end(self) -> int:
        return self._end

    def _seek(self, position: int) -> None:
        self._file.seek(position)
        self._reset(position)

    def resume_after(self, position: int) -> bool:
        """Just after the failed record's first byte: its length may be what was wrong."""
        self._seek(position + 1)
        return True

    def skip(self, count: int) -> int:
        """By seeking: a record too large to read is passed over without reading it."""
        target = min(self.tell() + count, self._end)
        skipped = target - self.tell()
        self._seek(target)
        return skipped


class BytesSource(PlainSource):
    """Bytes already in memory (one record read back by its pointer)."""

    def __init__(self, data: bytes) -> None:
        Source.__init__(self, 0)
        self._buf = bytearray(data)
        self._end = len(data)

    def _more(self) -> bool:
        return False

    def resume_after(self, position: int) -> bool:
        return True

    def skip(self, count: int) -> int:
        return Source.skip(self, count)


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
