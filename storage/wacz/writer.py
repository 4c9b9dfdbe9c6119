"""One .wacz file, written entry by entry, each hashed as it is written, with `datapackage.json`
(WACZ 1.1.1: every entry's path, sha256 and size) and `datapackage-digest.json` last.

Why stored: WARCs and the gzipped index are already compressed (our WARCs one gzip member per
record), and the WACZ spec wants them ZIP_STORED so that a reader can fetch one record by range
from inside the zip. Everything is streamed: no file is ever read whole into memory.
The package is written under a temporary name beside its target and renamed when complete, so a
failure never leaves a half-written .wacz where one is expected.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from storage.atomic import AtomicFile
from storage.wacz.index import INDEX_NAME, IndexWritten, renamed_lines, write_zipnum
from storage.wacz.pages import Page, page_line, pages_header

__all__ = ["WACZ_VERSION", "Described", "WaczWriter", "archive_name"]

WACZ_VERSION = "1.1.1"
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class Described:
    """What datapackage.json says of the package as a whole."""

    title: str
    description: str
    software: str


def archive_name(path: str, taken: set[str]) -> str:
    """A file's name under `archive/`: its own base name (characters a zip reader or a data
    package name might refuse become '-'), made unique (case-blind: datapackage names are
    lower-case) by a number before its extension."""
    base = _UNSAFE.sub("-", path.replace("\\", "/").rsplit("/", 1)[-1]) or "archive.warc.gz"
    stem, dot, extension = base.partition(".")
    name, number = base, 1
    while name.lower() in taken:
        number += 1
        name = f"{stem}-{number}{dot}{extension}"
    taken.add(name.lower())
    return name


class WaczWriter:
    """Usage: `with WaczWriter(target) as wacz: wacz.add_warc(...); ...; wacz.finish(...)`.
    Leaving the block without `finish()` (or by an exception) removes the partial file."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._output = AtomicFile(target, "wb")
        self._zip = zipfile.ZipFile(self._output.file, "w", allowZip64=True)
        self._resources: list[dict[str, object]] = []
        self._finished = False

    def __enter__(self) -> WaczWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if not self._finished:
            self._zip.close()
            self._output.discard()

    def add_warc(self, name: str, source: Path) -> None:
        """`source` as `archive/<name>`, stored byte for byte."""
        with open(source, "rb") as data:
            self._add_stream(f"archive/{name}", data, os.fstat(data.fileno()).st_size)

    def write_index(self, lines: Iterable[str], names: dict[str, str]) -> IndexWritten:
        """`indexes/index.cdx.gz` and `indexes/index.idx` from sorted CDXJ lines whose
        `filename` is a catalogue name in `names` (mapped to its name under `archive/`)."""
        tally = IndexWritten()
        with tempfile.TemporaryFile(dir=self.target.parent) as blocks:
            idx = write_zipnum(renamed_lines(lines, names), blocks, tally)
            size = blocks.tell()
            blocks.seek(0)
            self._add_stream(f"indexes/{INDEX_NAME}", blocks, size)
        self._add_bytes("indexes/index.idx", "".join(idx).encode("utf-8"))
        return tally

    def write_pages(self, pages: Iterable[Page], title: str) -> tuple[int, int]:
        """`pages/pages.jsonl`; returns (pages, pages with text)."""
        with tempfile.TemporaryFile(dir=self.target.parent) as body:
            count = with_text = 0
            for page in pages:
                body.write(page_line(page).encode("utf-8"))
                count += 1
                with_text += page.text is not None
            header = pages_header(title, has_text=with_text > 0).encode("utf-8")
            size = len(header) + body.tell()
            body.seek(0)
            self._add_stream("pages/pages.jsonl", _Prefixed(header, body), size,
                             zipfile.ZIP_DEFLATED)
        return count, with_text

    def finish(self, described: Described, created: datetime | None = None) -> Path:
        """Write datapackage.json and its digest, close, and move the package into place."""
        created = (created or datetime.now(UTC)).astimezone(UTC)
        package = {
            "profile": "data-package",
            "resources": self._resources,
            "title": described.title,
            "description": described.description,
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wacz_version": WACZ_VERSION,
            "software": described.software,
        }
        body = json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")
        self._write_entry("datapackage.json", body)
        digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(body).hexdigest()}
        self._write_entry("datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"))
        self._zip.close()
        self._output.commit()
        self._finished = True
        return self.target

    def _add_bytes(self, path: str, data: bytes) -> None:
        self._resources.append(_resource(path, hashlib.sha256(data).hexdigest(), len(data)))
        self._write_entry(path, data)

    def _write_entry(self, path: str, data: bytes) -> None:
        info = zipfile.ZipInfo(path, _now())
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)

    def _add_stream(self, path: str, data: BinaryIO | _Prefixed, size: int,
                    compression: int = zipfile.ZIP_STORED) -> None:
        info = zipfile.ZipInfo(path, _now())
        info.compress_type = compression
        info.file_size = size  # tells zipfile whether the entry needs ZIP64 before it starts
        digest, written = hashlib.sha256(), 0
        with self._zip.open(info, "w") as out:
            while chunk := data.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
                written += len(chunk)
        if written != size:
            raise OSError(f"{path}: {written} bytes read where {size} were expected (did the file change?)")
        self._resources.append(_resource(path, digest.hexdigest(), written))


class _Prefixed:
    """A few bytes, then a file: the pages' header line before their body."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.rest.read(size)


def _resource(path: str, sha256: str, size: int) -> dict[str, object]:
    return {"name": path.rsplit("/", 1)[-1].lower(), "path": path, "hash": f"sha256:{sha256}",
            "bytes": size}


def _now() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)
