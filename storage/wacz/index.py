"""The package's CDXJ index, as py-wacz and ReplayWeb.page read it: `indexes/index.cdx.gz` is
the sorted lines in gzip members of BLOCK_LINES lines each (so the whole file is also one gzip
stream of sorted CDXJ), and `indexes/index.idx` names each block's first key, offset and length,
so a reader fetches only the blocks it needs (the ZipNum layout of cdxj-indexer).

Why lines are rewritten: the catalogue names a file by its path under the WARC folder (or its
absolute path, if imported); inside the package it is `archive/<name>`, and a line must name
that. The selection (crawler.replayindex) gives only lines whose files the package holds: a
line naming another file is a bug (`NotPackaged`), never written with a local path in it.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["BLOCK_LINES", "IndexWritten", "NotPackaged", "UnsortedIndex", "renamed_lines", "write_zipnum"]

BLOCK_LINES = 1024  # py-wacz's (and ArchiveWeb.page's) block size
INDEX_NAME = "index.cdx.gz"


class NotPackaged(KeyError):
    """A line names a file the package does not hold."""


class UnsortedIndex(ValueError):
    """Lines out of order: a reader's binary search would miss captures."""


@dataclass
class IndexWritten:
    lines: int = 0


def renamed_lines(lines: Iterable[str], names: dict[str, str]) -> Iterator[str]:
    """Each line with its `filename` changed from the catalogue's name to the package's."""
    for line in lines:
        key, _, data = line.rstrip("\n").partition(" {")
        fields = json.loads("{" + data)
        fields["filename"] = _packaged(names, fields.get("filename"), key)
        revisit = fields.get("revisit")  # a 304 pointed at its original keeps its own record here
        if isinstance(revisit, dict) and "filename" in revisit:
            revisit["filename"] = _packaged(names, revisit["filename"], key)
        yield f"{key} {json.dumps(fields, ensure_ascii=False)}\n"


def _packaged(names: dict[str, str], name: object, key: str) -> str:
    if not isinstance(name, str) or name not in names:
        raise NotPackaged(f"CDXJ line {key!r} names {name!r}, which the package does not hold")
    return names[name]


def write_zipnum(lines: Iterable[str], data_out: BinaryIO, tally: IndexWritten) -> list[str]:
    """Write the blocks to `data_out`; return the lines of index.idx (a few per thousand captures)."""
    idx = ["!meta 0 " + json.dumps({"format": "cdxj-gzip-1.0", "filename": INDEX_NAME}) + "\n"]
    block: list[str] = []
    offset, previous, previous_line = 0, "", ""
    for line in lines:
        if line == previous_line:  # a capture asked for twice (selected, and a revisit's original)
            continue
        key = " ".join(line.split(" ", 2)[:2])
        if key < previous:
            raise UnsortedIndex(f"CDXJ line {key!r} comes after {previous!r}")
        previous, previous_line = key, line
        block.append(line)
        tally.lines += 1
        if len(block) == BLOCK_LINES:
            offset += _flush(block, data_out, idx, offset)
            block = []
    if block:
        _flush(block, data_out, idx, offset)
    return idx


def _flush(block: list[str], data_out: BinaryIO, idx: list[str], offset: int) -> int:
    packer = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    data = packer.compress("".join(block).encode("utf-8")) + packer.flush()
    data_out.write(data)
    first_key = " ".join(block[0].split(" ", 2)[:2])
    where = {"offset": offset, "length": len(data), "digest": "sha256:" + hashlib.sha256(data).hexdigest()}
    idx.append(f"{first_key} {json.dumps(where)}\n")
    return len(data)
