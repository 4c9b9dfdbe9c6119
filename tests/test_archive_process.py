"""The archive process starts while the crawl opens the catalogue, and is told of it only
once the catalogue is open: a crawl that cannot open it leaves no archive process behind."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from crawler.archive import ArchiveConfig
from crawler.archiveprocess import ArchiveProcess
from crawler.exitcodes import Unusable


def archive_processes() -> list[psutil.Process]:
    return [child for child in psutil.Process().children()
            if "crawler.archiveprocess" in " ".join(child.cmdline())]


def test_a_catalogue_that_cannot_be_opened_leaves_no_archive_process(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    config = ArchiveConfig(
        warc_dir=tmp_path / "warc", text_dir=tmp_path / "text", prefix="t", max_size=1 << 20,
        software="test", operator_info={}, backoff_first=1.0, give_up_after=3,
        database_url=f"sqlite:///{tmp_path / 'file' / 'archive.sqlite3'}", pid=os.getpid())
    before = archive_processes()
    with pytest.raises(Unusable):
        ArchiveProcess(config)
    assert archive_processes() == before  # spawned, told nothing, and gone
