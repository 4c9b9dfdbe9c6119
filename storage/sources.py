"""Byte sources for scanning archive files: plain bytes, or gzip with its members mapped.

Why this module exists: an archive from another tool is scanned as one logical
(uncompressed) stream, whatever its compression, so one parser finds the records; but a
catalogue pointer must name *file* bytes. `GzipSource` therefore keeps, for every gzip
member it decompresses, where it lies in the file and which logical bytes it holds: a
record's pointer is the run of members that holds it. That also finds the files whose
records share members (whole-file gzip), which cannot be read by offset.

Damage is reported as `SourceError` (with the file offset), after which `recover()` looks
for the next gzip member, so the rest of a damaged file is still read.
"""

from __future__ import annotations

import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import BinaryIO

from storage.formats import GZIP_MAGIC

__all__ = ["BytesSource", "GzipSource", "PlainSource", "Source", "SourceError"]

CHUNK = 1 << 16
MAX_LINE = 1 << 16
_GZIP_MEMBER_START = GZIP_MAGIC + b"\x08"  # magic + deflate method


class SourceError(Exception):
    """The bytes at `offset` (in the file) cannot be read as they should: corrupt or cut gzip."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"offset {offset}: {reason}")
        self.offset = offset
        self.reason = reason


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

    def same_unit(self, first: int, second: int) -> bool:
        """True if two logical positions lie in the same gzip member (always False for plain)."""
        return False

    def recover(self, after: int) -> bool:
        """After a SourceError at file offset `after`: continue at the next readable place;
        False if there is none (a plain file has no damage of this kind)."""
        return False

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

    def skip_blank(self) -> None:
        """Skip CR and LF: what lies between records (the CRLF CRLF trailer, or more, or less)."""
        while True:
            self._ensure(1)
            if not self.available():
                return
            while self._at < len(self._buf) and self._buf[self._at] in (10, 13):
                self._at += 1
            if self._at < len(self._buf):
                self._compact()
                return

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
        self._left = None if end is None else end - start

    def _more(self) -> bool:
        size = CHUNK if self._left is None else min(CHUNK, self._left)
        data = self._file.read(size) if size else b""
        if not data:
            return False
        if self._left is not None:
            self._left -= len(data)
        self._buf += data
        return True

    def span(self, start: int, end: int) -> tuple[int, int]:
        return start, end - start

    def offset_of(self, position: int) -> int:
        return position


class BytesSource(PlainSource):
    """Bytes already in memory (one record read back by its pointer)."""

    def __init__(self, data: bytes) -> None:
        Source.__init__(self, 0)
        self._buf = bytearray(data)
        self._left = 0

    def _more(self) -> bool:
        return False


@dataclass(slots=True)
class _Member:
    file_start: int
    logical_start: int
    file_end: int | None = None


class GzipSource(Source):
    """A gzip file range read as one logical stream, with the place of every member kept."""

    def __init__(self, handle: BinaryIO, start: int = 0, end: int | None = None) -> None:
        super().__init__(0)
        self._file = handle
        self._end = end
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
        if not self._members:
            return self._pending_at
        return self._member_at(position).file_start

    def same_unit(self, first: int, second: int) -> bool:
        return self._member_at(first) is self._member_at(second)

    def span(self, start: int, end: int) -> tuple[int, int]:
        first, last = self._member_at(start), self._member_at(max(end - 1, start))
        while last.file_end is None and self._more():  # finish the member (its trailer)
            pass
        if last.file_end is None:
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
        size = CHUNK
        if self._end is not None:
            size = min(size, self._end - (self._pending_at + len(self._pending)))
        return self._file.read(size) if size > 0 else b""

    def _more(self) -> bool:
        if not self._pending:
            self._pending = self._read_file()
        if not self._pending:
            if self._decompressor is not None:
                member = self._members[-1]
                self._decompressor = None
                raise SourceError(member.file_start, "gzip member is cut short (truncated file?)")
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
            raise SourceError(offset, f"not a gzip member ({size}+ bytes of other data)")
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._members.append(_Member(self._pending_at, self._logical))
        self._starts.append(self._logical)

    def _decompress(self) -> bool:
        assert self._decompressor is not None
        data, at = self._pending, self._pending_at
        try:
            out = self._decompressor.decompress(data)
        except zlib.error as error:
            member = self._members[-1]
            self._decompressor = None
            self._pending, self._pending_at = b"", at + len(data)
            raise SourceError(member.file_start, f"corrupt gzip data: {error}") from None
        self._buf += out
        self._logical += len(out)
        if self._decompressor.eof:
            unused = self._decompressor.unused_data
            self._members[-1].file_end = at + len(data) - len(unused)
            self._decompressor = None
            self._pending, self._pending_at = unused, at + len(data) - len(unused)
        else:
            self._pending, self._pending_at = b"", at + len(data)
        return True

    def recover(self, after: int) -> bool:
        """Go on reading at the first gzip member that starts after file offset `after`
        (where the damage was found); False if there is none."""
        self._file.seek(after + 1)
        position = after + 1
        carry = b""
        while True:
            data = self._file.read(CHUNK)
            if self._end is not None:
                data = data[:max(self._end - position, 0)]
            if not data:
                return False
            window = carry + data
            found = window.find(_GZIP_MEMBER_START)
            if found >= 0:
                start = position - len(carry) + found
                self._file.seek(start)
                self._pending, self._pending_at = b"", start
                self._decompressor = None
                self._reset(self._logical)
                return True
            carry = window[-2:]
            position += len(data)
