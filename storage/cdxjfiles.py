"""One CDXJ index per closed WARC file of ours: `$WARC_DIR/indexes/<WARC name>.cdxj`.

Why: a pywb collection (or any replay tool reading CDXJ) can point at the `indexes/`
folder and the WARC folder as they are, and sees every closed file without re-indexing
anything. Each index holds the lines (storage.cdxj) of the captures whose record is in
that file, sorted; it is written from the catalogue once the file's rows are committed,
to a temporary name and renamed, so a reader never sees half an index. A file closed but
never indexed (a crash in between) is found by `missing_indexes`, which leaves out files
whose writer still runs, and indexed later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from storage.atomic import atomic_output
from storage.catalogue.selection import Narrowing, capture_rows
from storage.cdxj import CdxjCounts, lines_of
from storage.sorting import sorted_lines
from storage.warc.writer import Writer, writer_of

__all__ = ["INDEX_FOLDER", "Missing", "index_path", "missing_indexes", "own_closed_files",
           "write_file_index"]

INDEX_FOLDER = "indexes"
INDEX_SUFFIX = ".cdxj"


def index_path(warc_dir: Path, warc_name: str) -> Path:
    return warc_dir / INDEX_FOLDER / (warc_name + INDEX_SUFFIX)


# Lines sorted in memory at once for one file's index (~8 MB): a crawl indexes each file it
# closes, and its memory must not grow with the size of its WARC files (the rest is merged
# from sorted runs on disk, storage.sorting).
FILE_RUN_SIZE = 20_000


def write_file_index(session: Session, warc_dir: Path, warc_name: str,
                     run: int | None = None) -> CdxjCounts:
    """(Re)write the index of the closed WARC file `warc_name` (relative to `warc_dir`) from
    the catalogue; `run` (the crawl run that wrote it, if known) only speeds up the query."""
    counts = CdxjCounts()
    rows = capture_rows(session, Narrowing(warc_file=warc_name, run=run))
    target = index_path(warc_dir, warc_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target, "w", encoding="utf-8", newline="\n") as out:
        out.writelines(line + "\n" for line in sorted_lines(lines_of(rows, counts), FILE_RUN_SIZE))
    return counts


def own_closed_files(warc_dir: Path) -> list[str]:
    """The closed WARC files our crawlers wrote in `warc_dir` (not `.open`, not imported)."""
    return [name for name, _ in _own_closed(warc_dir)]


def _own_closed(warc_dir: Path, among: Callable[[str], bool] = lambda name: True,
                ) -> Iterator[tuple[str, Writer]]:
    """Each closed file of ours `among` those named, with its writer; a name is read once,
    and `among` asked before the file is looked at."""
    if not warc_dir.is_dir():
        return
    for name in sorted(os.listdir(warc_dir)):
        writer = writer_of(name)
        if writer is not None and not writer.still_open and among(name) and (warc_dir / name).is_file():
            yield name, writer


@dataclass(frozen=True, slots=True)
class Missing:
    """Closed WARC files of ours without an index: those to index now, and those whose
    writer may still be running, left to it."""

    indexable: list[str]
    written_elsewhere: list[str]  # on another host: whether its writer runs cannot be told here


def missing_indexes(warc_dir: Path, hostname: str, alive: Callable[[int, datetime | None], bool],
                    among: Callable[[str], bool] = lambda name: True) -> Missing:
    """Closed WARC files of ours (`among` those a caller names) without an index whose writer
    is gone: written on this host by a process that no longer runs (`alive(pid, since)`, as
    storage.repair.abandoned asks it). A live crawler indexes each file it closed once the
    file's rows are committed: indexed before that, by anyone else, an index would lack them
    (and might replace the crawler's own, complete one). Files of other hosts are left to
    those hosts. `among` is asked first: a caller naming a few files costs a few checks."""
    indexable, elsewhere = [], []
    for name, writer in _own_closed(warc_dir, among):
        if index_path(warc_dir, name).exists():
            continue
        if not writer.on(hostname):
            elsewhere.append(name)
        elif not alive(writer.pid, writer.named_at):
            indexable.append(name)
    return Missing(indexable, elsewhere)
