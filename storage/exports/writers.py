"""Article records to a file, as JSON lines or CSV, whole or not at all.

Why a temporary file: an export stopped halfway (an error, Ctrl-C, a full disk) must never
leave a file that looks complete. Records go to a hidden file beside the target, renamed
over it only once every record is written and flushed; on failure it is removed. `-` writes
to standard output instead (as it goes: a pipe has nothing to rename).

JSON lines: one JSON object per line, UTF-8, fields in `FIELDS` order, `tags` a list and
`problems` an object (or null). CSV: the same fields as the header row; `tags` and `problems`
are JSON text (`["a", "b"]`), which any CSV reader gives back whole whatever the tags hold;
null is an empty cell.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from storage.atomic import atomic_output
from storage.exports.records import FIELDS

__all__ = ["FORMATS", "RecordWriter", "format_of", "open_output", "record_writer"]

FORMATS = ("jsonl", "csv")
_JSON_IN_CSV = ("tags", "problems")


class RecordWriter(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


def format_of(target: str, given: str | None) -> str | None:
    """The format `given`, else the target's extension (.jsonl, .csv); None if neither says."""
    if given:
        return given if given in FORMATS else None
    if target == "-":
        return "jsonl"
    suffix = Path(target).suffix.lower().lstrip(".")
    return {"jsonl": "jsonl", "ndjson": "jsonl", "csv": "csv"}.get(suffix)


@contextmanager
def open_output(target: str) -> Iterator[IO[str]]:
    """A text stream for `target` ('-': stdout) that appears there whole, or not at all.
    Raises OSError (with the target's name) when the folder cannot take it."""
    if target == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_output(Path(target), "w", encoding="utf-8", newline="") as stream:
        yield stream


def record_writer(stream: IO[str], format_name: str) -> RecordWriter:
    return _CsvWriter(stream) if format_name == "csv" else _JsonLinesWriter(stream)


class _JsonLinesWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, record: dict[str, Any]) -> None:
        self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")


class _CsvWriter:
    def __init__(self, stream: IO[str]) -> None:
        self.writer = csv.DictWriter(stream, fieldnames=FIELDS, extrasaction="raise")
        self.writer.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        row = dict(record)
        for name in _JSON_IN_CSV:
            if row.get(name) is not None:
                row[name] = json.dumps(row[name], ensure_ascii=False)
        self.writer.writerow(row)
