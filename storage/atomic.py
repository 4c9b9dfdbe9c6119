"""Files that appear whole or not at all: written beside their target, then renamed.

Why one helper: indexes, exports and WACZ packages are read by other programs (pywb, a
reader of the export) while we write them, and a crash or a full disk must leave the old
file or nothing, never half a file. Every output goes through the same steps: a temporary
file in the target's folder (a rename within one file system is atomic), fsync, the mode
an ordinary `open()` would give (0666 less the umask; mkstemp's 0600 is for the half
file only), rename, fsync of the folder (the rename survives a power cut); the temporary
file is removed on any failure.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["AtomicFile", "atomic_output"]


class AtomicFile:
    """A temporary file beside `target`: `commit()` puts it in place, `discard()` removes it.
    For writers that cannot live inside one `with` block (storage.wacz.writer)."""

    def __init__(self, target: Path, mode: str = "wb", encoding: str | None = None,
                 newline: str | None = None) -> None:
        self.target = Path(target)
        folder = self.target.parent
        try:
            handle, name = tempfile.mkstemp(dir=folder, prefix=f".{self.target.name}.", suffix=".tmp")
        except OSError as error:  # name the target, not a random temporary name
            raise OSError(error.errno, error.strerror, str(self.target)) from error
        self.temporary = Path(name)
        try:
            self.file: IO[Any] = open(handle, mode, encoding=encoding, newline=newline)  # noqa: SIM115
        except BaseException:
            os.close(handle)
            self.temporary.unlink(missing_ok=True)
            raise

    def commit(self) -> None:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.temporary, 0o666 & ~current_umask())
            os.replace(self.temporary, self.target)
        except BaseException:
            self.discard()
            raise
        fsync_directory(self.target.parent)

    def discard(self) -> None:
        try:
            self.file.close()
        except OSError:
            pass  # a failed flush of a file being thrown away
        finally:
            self.temporary.unlink(missing_ok=True)


@contextmanager
def atomic_output(target: Path, mode: str = "wb", *, encoding: str | None = None,
                  newline: str | None = None) -> Iterator[IO[Any]]:
    """`with atomic_output(path, "w", encoding="utf-8") as out: ...`: `path` is replaced
    once the block ends, or left as it was if the block (or the writing) fails. An OSError
    from creating the temporary file names `target`."""
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    output = AtomicFile(target, mode, encoding, newline)
    try:
        yield output.file
    except BaseException:
        output.discard()
        raise
    output.commit()


def current_umask() -> int:
    """The process umask, read without changing it (os.umask would, for a moment, for
    every thread) where Linux's /proc tells it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_directory(directory: Path) -> None:
    """Make a rename durable; not possible on every platform, hence best effort."""
    try:
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
