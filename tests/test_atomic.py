"""storage.atomic: an output appears whole, with an ordinary file's mode, or not at all."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.atomic import atomic_output


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_the_target_is_replaced_whole_with_the_umasks_mode(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "index.cdxj"
    target.write_text("old\n", encoding="utf-8")
    with atomic_output(target, "w") as out:
        out.write("tin mới\n")
        assert target.read_text(encoding="utf-8") == "old\n"  # not before the block ends
    assert target.read_text(encoding="utf-8") == "tin mới\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["index.cdxj"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_a_missing_folder_is_an_error_naming_the_target(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such.cdxj"
    with pytest.raises(FileNotFoundError) as raised, atomic_output(target, "w"):
        pass
    assert raised.value.filename == str(target)


def test_a_full_disk_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    target = tmp_path / "out.txt"
    with pytest.raises(OSError), atomic_output(target, "w") as out:
        out.write("x")
        os.dup2(os.open("/dev/full", os.O_WRONLY), out.fileno())  # the disk fills up
    assert os.listdir(tmp_path) == []
