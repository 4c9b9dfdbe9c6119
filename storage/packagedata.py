"""Folders shipped inside our packages, as real directories for tools that need a path.

Alembic reads its migrations from a directory. Installed as a zipped egg (how Scrapyd
deploys a project), a package's folders live inside a zip file: they are copied out for
the time they are needed. `importlib.resources.as_file` copies folders only from Python
3.12 on, so the copy is done here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable


@contextmanager
def folder_on_disk(folder: Traversable) -> Iterator[Path]:
    """`folder` as a directory on disk: itself when it is one, else a temporary copy,
    removed when the block ends."""
    if isinstance(folder, Path):
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="vnarchive-package-") as temporary:
        copy = Path(temporary) / folder.name
        _copy_tree(folder, copy)
        yield copy


def _copy_tree(source: Traversable, target: Path) -> None:
    target.mkdir()
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_tree(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())
