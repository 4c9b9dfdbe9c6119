"""IN (...) lists in chunks: every engine limits the parameters of one statement."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T", bound=Hashable)

CHUNK = 500  # values per IN list: well under SQLite's and PostgreSQL's limits


def in_chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """The distinct values, sorted (stable statements, stable lock order), `size` at a time."""
    ordered = sorted(set(values))  # type: ignore[type-var]
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]
