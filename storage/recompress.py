"""Rewrite a whole-file-gzip WARC (or ARC) as one gzip member per record.

Why this module exists: some tools gzip a whole WARC file as a single stream. Nothing in
it can be read by offset (warcio refuses such files outright), so it cannot be pointed at
where it lies. We fix it ourselves instead of sending the user away: every record is
written, byte for byte, as its own gzip member into a new file in the archive folder
(`warcio recompress` would do the same, but re-serialises the headers). Damaged records
are reported as during any import and left out.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import BinaryIO

from storage.formats import Sniffed
from storage.scanner import ScannedRecord, ScanProblem, scan

__all__ = ["recompress"]

_TRAILER = {"warc": b"\r\n\r\n", "arc": b"\n"}


def recompress(handle: BinaryIO, sniffed: Sniffed, target: Path, *, start: int = 0,
               end: int | None = None) -> list[ScanProblem]:
    """Write `target` (atomically, via `.part`); return the problems met on the way."""
    assert sniffed.kind is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    problems: list[ScanProblem] = []
    try:
        with open(partial, "wb") as out:
            for item in scan(handle, sniffed, start=start, end=end, allow_shared=True):
                if isinstance(item, ScannedRecord):
                    out.write(_gzip_member(item.record.raw + _TRAILER[sniffed.kind]))
                else:
                    problems.append(item)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return problems


def _gzip_member(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()
