"""Byte sources for scanning archive files: one buffered logical stream over any bytes.

Why this module exists: an archive from another tool is scanned as one logical
(uncompressed) stream, whatever its compression, so one parser (`storage.warc.records`)
finds the records. A `Source` gives that parser read, readline, peek and tell over a
buffer that never holds more than a few hundred KiB; `PlainSource` serves an uncompressed
file range, `BytesSource` bytes already in memory, and `storage.warc.gzipsource.GzipSource`
a gzip file with the place of every member kept. `Inflation` says when decompressed output
stops being believable (a decompression bomb).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["BytesSource", "Inflation", "PlainSource", "Source", "SourceError"]

CHUNK = 1 << 16
MAX_LINE = 1 << 16
_NOT_BLANK = re.compile(rb"[^\r\n]")


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
