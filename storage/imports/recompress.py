"""Rewrite a whole-file-gzip WARC (or ARC) as one gzip member per record.

Why this module exists: some tools gzip a whole WARC file as a single stream. Nothing in
it can be read by offset (warcio refuses such files outright), so it cannot be pointed at
where it lies. We fix it ourselves instead of sending the user away: every record is
written, byte for byte, as its own gzip member into a new file in the archive folder
(`warcio recompress` would do the same, but re-serialises the headers). Records are
streamed through the compressor, never held whole; damaged ones are reported as during
any import and left out (what was already written of them is cut off again).
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import BinaryIO

from storage.warc.formats import Sniffed
from storage.warc.scanner import ScanLimits, ScannedRecord, ScanProblem, scan

__all__ = ["recompress"]

_TRAILER = {"warc": b"\r\n\r\n", "arc": b"\n"}


class _MemberWriter:
    """Writes each record as one gzip member as its bytes arrive; a record that turns out
    damaged is cut off the file again."""

    def __init__(self, out: BinaryIO, trailer: bytes) -> None:
        self.out = out
        self.trailer = trailer
        self.committed = out.tell()
        self.compressor: zlib._Compress | None = None

    def write(self, data: bytes) -> None:
        if self.compressor is None:
            self.compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self.out.write(self.compressor.compress(data))

    def finish(self) -> None:
        self.write(self.trailer)
        assert self.compressor is not None
        self.out.write(self.compressor.flush())
        self.compressor = None
        self.committed = self.out.tell()

    def discard(self) -> None:
        self.compressor = None
        self.out.seek(self.committed)
        self.out.truncate()


def recompress(handle: BinaryIO, sniffed: Sniffed, target: Path, *, start: int = 0,
               end: int | None = None, limits: ScanLimits | None = None) -> list[ScanProblem]:
    """Write `target` (atomically, via `.part`); return the problems met on the way."""
    assert sniffed.kind is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    problems: list[ScanProblem] = []
    try:
        with open(partial, "wb") as out:
            writer = _MemberWriter(out, _TRAILER[sniffed.kind])
            for item in scan(handle, sniffed, start=start, end=end, allow_shared=True,
                             limits=limits, sink=writer.write):
                if isinstance(item, ScannedRecord):
                    writer.finish()
                else:
                    writer.discard()
                    problems.append(item)
            writer.discard()  # a record begun when the scan stopped
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return problems
