"""Sorting more lines than memory should hold: sorted runs in temporary files, then one merge.

Why: a CDXJ index of millions of captures must come out sorted (replay tools binary-search
it), but holding every line at once would grow with the archive. At most `run_size` lines
are in memory; each full run is written sorted to a temporary file, and `heapq.merge`
reads the runs back a line at a time.
"""

from __future__ import annotations

import heapq
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from typing import IO

__all__ = ["RUN_SIZE", "SortSpaceError", "sorted_lines"]

RUN_SIZE = 200_000  # lines held in memory at most (a CDXJ line is ~400 bytes: ~80 MB)


class SortSpaceError(RuntimeError):
    """The temporary folder could not hold or give back a sorted run: not an OSError, so that
    a caller writing the sorted lines never blames its own output for it."""


def sorted_lines(lines: Iterable[str], run_size: int = RUN_SIZE) -> Iterator[str]:
    """`lines` (without newlines) in code point order, which is UTF-8 byte order too, the
    order pywb's binary search expects. Equal lines are kept."""
    if run_size < 1:
        raise ValueError("run_size must be positive")
    with ExitStack() as stack:
        runs: list[IO[str]] = []
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= run_size:
                runs.append(_spill(stack, batch))
                batch = []
        batch.sort()
        if not runs:
            yield from batch
            return
        readers = [_read(run) for run in runs]
        yield from heapq.merge(*readers, batch)


def _spill(stack: ExitStack, batch: list[str]) -> IO[str]:
    batch.sort()
    try:
        run = stack.enter_context(tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n"))
        run.writelines(line + "\n" for line in batch)
        run.flush()
        run.seek(0)
    except OSError as error:
        raise _space_error(error) from error
    return run


def _read(run: IO[str]) -> Iterator[str]:
    try:
        for line in run:
            yield line.removesuffix("\n")
    except OSError as error:
        raise _space_error(error) from error


def _space_error(error: OSError) -> SortSpaceError:
    return SortSpaceError(f"the temporary folder {tempfile.gettempdir()} cannot hold the sort "
                          f"({error.strerror or error}): set TMPDIR to a folder with room")
