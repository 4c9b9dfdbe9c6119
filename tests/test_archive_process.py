"""The archive process starts while the crawl opens the catalogue, and is told of it only
once the catalogue is open: a crawl that cannot open it leaves no archive process behind.
The crawl waits for it only before its first request (it imports while Scrapy builds its
engine): one that never starts stops the crawl, unstarted, with a failed exit status."""

from __future__ import annotations

import os
import subprocess
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from crawler import archiveprocess
from crawler.archive import ArchiveConfig, ArchiveUnavailable
from crawler.archiveprocess import ArchiveProcess
from crawler.exitcodes import ExitCode, Unusable
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import CrawlRun
from tests.crawl import crawl
from tests.sample_site import SampleSite


def archive_processes() -> list[psutil.Process]:
    return [child for child in psutil.Process().children()
            if "crawler.archiveprocess" in " ".join(child.cmdline())]


def config_in(folder: Path, database_url: str | None = None) -> ArchiveConfig:
    return ArchiveConfig(
        warc_dir=folder / "warc", text_dir=folder / "text", prefix="t", max_size=1 << 20,
        software="test", operator_info={}, backoff_first=1.0, give_up_after=3,
        database_url=database_url or f"sqlite:///{folder / 'archive.sqlite3'}", pid=os.getpid())


def test_a_catalogue_that_cannot_be_opened_leaves_no_archive_process(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    config = config_in(tmp_path, f"sqlite:///{tmp_path / 'file' / 'archive.sqlite3'}")
    before = archive_processes()
    with pytest.raises(Unusable):
        ArchiveProcess(config)
    assert archive_processes() == before  # spawned, told nothing, and gone


# Loaded by every interpreter given the folder on its path (the archive process inherits the
# crawl's), each acting in the archive process only.
DIES_AS_IT_STARTS = """import sys
if "crawler.archiveprocess" in " ".join(sys.orig_argv):
    sys.exit(7)
"""
DIES_ONCE_CONFIGURED = """import os, sys
if "crawler.archiveprocess" in " ".join(sys.orig_argv):
    from multiprocessing.connection import Connection
    recv = Connection.recv
    def recv_then_die(self):
        recv(self)  # its configuration
        os._exit(7)
    Connection.recv = recv_then_die
"""


def test_an_archive_process_dead_before_it_is_configured_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "sitecustomize.py").write_text(DIES_AS_IT_STARTS)
    monkeypatch.syspath_prepend(str(tmp_path / "path"))  # the archive process's PYTHONPATH
    spawn = archiveprocess._spawn

    def spawned_and_dead() -> tuple[subprocess.Popen[bytes], Connection]:
        process, conn = spawn()
        process.wait(60)  # gone before it could be told anything
        return process, conn

    monkeypatch.setattr(archiveprocess, "_spawn", spawned_and_dead)
    with pytest.raises(ArchiveUnavailable, match="ended as it started .exit status 1."):
        ArchiveProcess(config_in(tmp_path))


@pytest.mark.slow
def test_an_archive_process_dead_before_it_is_ready_stops_the_crawl_before_any_request(
        site: SampleSite, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "sitecustomize.py").write_text(DIES_ONCE_CONFIGURED)
    site.clear_requests()
    with monkeypatch.context() as patch:
        patch.setenv("PYTHONPATH", str(tmp_path / "path"))
        failed = crawl(base_url, tmp_path / "data")
    assert failed.returncode == ExitCode.FAILED, failed.log[-3000:]
    assert "The crawl cannot start: the archive process ended (exit status 7)" in failed.log
    assert "Traceback" not in failed.log
    assert site.requests == []  # nothing fetched that could not be archived
    with open_catalogue(failed.database_url)() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.status == "archive_unavailable" and run.finished_at is not None
    assert crawl(base_url, tmp_path / "data").returncode == 0  # the site's lock was released
