"""The archive process starts while the crawl opens the catalogue, and is told of it only
once the catalogue is open: a crawl that cannot open it leaves no archive process behind.
The crawl waits for it only before its first request (it imports while Scrapy builds its
engine): one that never starts stops the crawl, unstarted, with a failed exit status."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from crawler.archive import ArchiveConfig
from crawler.archiveprocess import ArchiveProcess
from crawler.exitcodes import ExitCode, Unusable
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import CrawlRun
from tests.crawl import CrawlResult, crawl
from tests.sample_site import SampleSite


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


# Loaded by every interpreter given the folder on PYTHONPATH (the archive process inherits
# the crawl's path), each acting in the archive process only.
DIES_AS_IT_STARTS = """import sys
if "crawler.archiveprocess" in " ".join(sys.orig_argv):
    sys.exit(7)
"""
DIES_ONCE_CONFIGURED = """import os, sys
if "crawler.archiveprocess" in " ".join(sys.orig_argv):
    from multiprocessing.connection import Connection
    def recv_then_die(self, *args):
        os._exit(7)  # as it reads its configuration
    Connection.recv = recv_then_die
"""


def crawl_with_archive_process(base_url: str, data_dir: Path, sitecustomize: str,
                               monkeypatch: pytest.MonkeyPatch) -> CrawlResult:
    folder = data_dir.parent / "path"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(sitecustomize)
    with monkeypatch.context() as patch:
        patch.setenv("PYTHONPATH", str(folder))
        return crawl(base_url, data_dir)


@pytest.mark.slow
def test_an_archive_process_dead_as_it_starts_is_one_line_and_no_request(
        site: SampleSite, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site.clear_requests()
    failed = crawl_with_archive_process(base_url, tmp_path / "data", DIES_AS_IT_STARTS, monkeypatch)
    assert failed.returncode == ExitCode.FAILED, failed.log[-3000:]
    assert "scrapy crawl: the archive process ended as it started" in failed.log
    assert "Traceback (most recent call last)" not in failed.log.split("SystemExit: 7")[-1]
    assert site.requests == []


@pytest.mark.slow
def test_an_archive_process_dead_before_it_is_ready_stops_the_crawl_before_any_request(
        site: SampleSite, base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site.clear_requests()
    failed = crawl_with_archive_process(base_url, tmp_path / "data", DIES_ONCE_CONFIGURED,
                                        monkeypatch)
    assert failed.returncode == ExitCode.FAILED, failed.log[-3000:]
    assert "The crawl cannot start: the archive process ended (exit status 7)" in failed.log
    assert site.requests == []  # nothing fetched that could not be archived
    with open_catalogue(failed.database_url)() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.status == "archive_unavailable" and run.finished_at is not None
    assert crawl(base_url, tmp_path / "data").returncode == 0  # the site's lock was released
