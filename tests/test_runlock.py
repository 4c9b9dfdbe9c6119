"""The RunLifecycle extension, built as Scrapy builds it (`get_crawler`), on both engines: the
run's row, the site's lock taken over from a dead run, what the dead run left repaired and
catalogued, the heartbeat, and the run's end once the archive is closed."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from crawler.archive import Archive
from crawler.extensions.runlock import RunLifecycle, SiteLocked, pid_alive
from crawler.signals import archive_closed
from storage.catalogue import locks, runs
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun
from storage.cdxjfiles import index_path, missing_indexes
from storage.warc.exchange import HttpExchange
from storage.warc.writer import STAMP_FORMAT, WarcWriter

DEAD_PID = 999_999_99  # above any pid_max: never a live process
HOST = socket.gethostname()


class VovSpider(Spider):
    name = "vov"


def settings(tmp_path: Path, catalogue_url: str) -> dict[str, Any]:
    return {"DATABASE_URL": catalogue_url, "WARC_DIR": str(tmp_path / "warc"),
            "TEXT_DIR": str(tmp_path / "text"), "WARC_MAX_SIZE": 1 << 20,
            "RUN_LOCK_STALE_AFTER": 600, "RUN_LOCK_HEARTBEAT": 60}


@pytest.fixture
def crawler(tmp_path: Path, catalogue_url: str) -> Iterator[Crawler]:
    crawler = get_crawler(VovSpider, settings(tmp_path, catalogue_url))
    yield crawler
    Archive.of(crawler).close().result(timeout=30)


def dead_run(catalogue_url: str, pid: int = DEAD_PID) -> int:
    """A run of `vov` on this host that holds the site's lock and whose process is gone."""
    with open_catalogue(catalogue_url).begin() as session:
        run = runs.start_run(session, spider="vov", site="vov", hostname=HOST, pid=pid)
        assert locks.take_lock(session, "vov", run.id, HOST, pid, datetime.now(UTC))
        return run.id


def left_open(warc_dir: Path, records: int) -> None:
    """A WARC file the dead run was writing when it died: never closed, never catalogued."""
    name = f"vnarchive-20260301080000000000-00000-{HOST}-{DEAD_PID}.warc.gz"
    writer = WarcWriter(warc_dir, file_name=lambda serial: name)
    for n in range(records):
        writer.write_exchange(HttpExchange(
            f"https://vov.vn/a-post{n}.vov", "GET", [], b"", "HTTP/1.1", 200,
            [("Content-Type", "text/html")], b"<p>trang</p>", datetime.now(UTC)))
    writer._file.close()  # the process dies: no close(), no rename  # noqa: SLF001


def test_a_dead_runs_lock_is_taken_over_and_what_it_left_repaired(
        crawler: Crawler, tmp_path: Path, catalogue_url: str) -> None:
    dead = dead_run(catalogue_url)
    left_open(tmp_path / "warc", records=2)

    lifecycle = RunLifecycle.from_crawler(crawler)
    lifecycle.heartbeat.clock = clock = Clock()
    lifecycle.spider_opened(crawler.spidercls())
    stats = crawler.stats.get_stats()
    run_id = stats["catalogue/crawl_run_id"]
    assert run_id != dead
    assert stats["runlock/taken_over_from_run"] == dead
    assert stats["runlock/repaired_files"] == 1
    assert stats["runlock/recatalogued_captures"] == 2
    assert [call.getTime() for call in clock.getDelayedCalls()] == [60]  # RUN_LOCK_HEARTBEAT
    assert not list((tmp_path / "warc").glob("*.open"))
    with open_catalogue(catalogue_url)() as session:
        assert session.get_one(CrawlRun, dead).status == "killed"
        assert session.scalars(select(Capture.crawl_run_id)).all() == [dead, dead]
        assert locks.lock_holder(session, "vov").run_id == run_id  # type: ignore[union-attr]

    crawler.stats.set_value("recrawl/articles/new", 3)
    crawler.stats.inc_value("extract/failed/no_text")
    crawler.signals.send_catch_log(archive_closed, reason="finished")
    assert clock.getDelayedCalls() == []  # the heartbeat stopped
    with open_catalogue(catalogue_url)() as session:
        run = session.get_one(CrawlRun, run_id)
        assert (run.status, run.new_articles, run.failed_articles) == ("finished", 3, 1)
        assert run.stats["runlock/taken_over_from_run"] == dead
        assert locks.lock_holder(session, "vov") is None  # the site is free


def test_a_site_held_by_a_live_run_is_not_started(crawler: Crawler, catalogue_url: str) -> None:
    holder = dead_run(catalogue_url, pid=os.getpid())  # this process: alive
    with pytest.raises(SiteLocked, match=f"being crawled by run {holder}"):
        RunLifecycle.from_crawler(crawler)
    with open_catalogue(catalogue_url)() as session:
        statuses = session.execute(select(CrawlRun.id, CrawlRun.status)).all()
    assert [status for run_id, status in statuses if run_id != holder] == ["locked"]


def test_a_lost_lock_and_a_failed_heartbeat_are_counted(crawler: Crawler, catalogue_url: str) -> None:
    lifecycle = RunLifecycle.from_crawler(crawler)
    lifecycle.lock_renewed(lifecycle.lock.beat())
    assert "runlock/lost" not in crawler.stats.get_stats()

    lifecycle.renewal_failed(Failure(OperationalError("beat", {}, Exception("server gone"))))
    assert crawler.stats.get_value("runlock/heartbeat_errors") == 1

    with open_catalogue(catalogue_url).begin() as session:  # another run took the lock over
        holder = locks.lock_holder(session, "vov")
        assert holder is not None
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert locks.take_lock(session, "vov", holder.run_id + 100, "elsewhere", 1, later,
                                    replace=holder)
    lifecycle.lock_renewed(lifecycle.lock.beat())
    assert crawler.stats.get_value("runlock/lost") is True


def closed_file(warc_dir: Path, pid: int, named_at: datetime, host: str = HOST) -> str:
    """A WARC file of ours, closed (renamed), of one catalogued capture, without its index."""
    name = f"vnarchive-{named_at.strftime(STAMP_FORMAT)}-00000-{host}-{pid}.warc.gz"
    with WarcWriter(warc_dir, file_name=lambda serial: name) as writer:
        writer.write_exchange(HttpExchange(
            f"https://vov.vn/{name}", "GET", [], b"", "HTTP/1.1", 200,
            [("Content-Type", "text/html")], b"<p>trang</p>", datetime.now(UTC)))
    return name


def test_start_up_indexes_what_a_crash_left_and_leaves_an_older_backlog(
        crawler: Crawler, tmp_path: Path, catalogue_url: str) -> None:
    """After an upgrade no file has an index: indexing them all before the heartbeat starts
    could outlast RUNLOCK_STALE_AFTER and let the next run take the lock."""
    warc = tmp_path / "warc"
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    backlog = [closed_file(warc, DEAD_PID - 1, long_ago),  # an earlier finished run
               closed_file(warc, DEAD_PID, long_ago)]  # an earlier process given the same pid
    dead_run(catalogue_url)
    crashed = closed_file(warc, DEAD_PID, datetime.now(UTC))  # the dead run died before indexing it
    left_open(warc, records=1)

    lifecycle = RunLifecycle.from_crawler(crawler)
    lifecycle.heartbeat.clock = Clock()
    lifecycle.spider_opened(crawler.spidercls())
    assert crawler.stats.get_value("runlock/indexed_files") == 2
    repaired = f"vnarchive-20260301080000000000-00000-{HOST}-{DEAD_PID}.warc.gz"
    assert index_path(warc, repaired).read_text(encoding="utf-8").count("\n") == 1
    assert index_path(warc, crashed).exists()
    assert missing_indexes(warc, HOST, pid_alive).indexable == sorted(backlog)  # cdxj --per-file's


def test_only_files_whose_writer_is_gone_are_indexable(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    gone = closed_file(tmp_path, DEAD_PID, now)
    closed_file(tmp_path, os.getpid(), now)  # a live crawler indexes its own, once committed
    elsewhere = closed_file(tmp_path, DEAD_PID, now, host="other-host")
    missing = missing_indexes(tmp_path, HOST, pid_alive)
    assert (missing.indexable, missing.written_elsewhere) == ([gone], [elsewhere])


def test_start_up_asks_about_the_files_it_names_only(tmp_path: Path) -> None:
    """A backlog of unindexed files costs the start-up pass no process look-up each."""
    now = datetime.now(UTC)
    backlog = [closed_file(tmp_path, DEAD_PID - n, now) for n in range(1, 4)]
    named = closed_file(tmp_path, DEAD_PID, now)
    asked: list[int] = []

    def alive(pid: int, since: datetime | None) -> bool:
        asked.append(pid)
        return False

    missing = missing_indexes(tmp_path, HOST, alive, among=lambda name: name == named)
    assert missing.indexable == [named] and asked == [DEAD_PID] and named not in backlog


def test_a_full_file_whose_batch_failed_stays_open_then_is_catalogued_and_indexed(
        crawler: Crawler, tmp_path: Path, catalogue_url: str) -> None:
    """The file is full after its first record; the batch holding that record's row fails.
    Closed then, it would hold a record the catalogue never gets, indexed without it."""
    warc = tmp_path / "warc"
    name = f"vnarchive-{datetime.now(UTC).strftime(STAMP_FORMAT)}-00000-{HOST}-{DEAD_PID}.warc.gz"
    (tmp_path / "text").mkdir()
    dying = Archive(WarcWriter(warc, max_size=1, file_name=lambda serial: name),
                    open_catalogue(catalogue_url), tmp_path / "text")
    dying.site = "vov"

    def failing(session: object, captures: list[object], **options: object) -> None:
        raise OSError("the catalogue went away")

    dying.captures.insert = failing  # type: ignore[method-assign]
    exchange = HttpExchange("https://vov.vn/a-post.vov", "GET", [], b"", "HTTP/1.1", 200,
                            [("Content-Type", "text/html")], b"<p>trang</p>", datetime.now(UTC))
    with pytest.raises(OSError, match="went away"):
        dying.archive_exchange(exchange, "<urn:uuid:11111111-1111-4111-8111-111111111111>", None,
                               "article").result(timeout=30)
    dying.close().result(timeout=30)
    assert [p.name for p in warc.iterdir()] == [name + ".open"]  # not closed: not all catalogued

    dead_run(catalogue_url)
    RunLifecycle.from_crawler(crawler)
    with open_catalogue(catalogue_url)() as session:
        assert session.scalars(select(Capture.warc_file)).all() == [name]
    lines = index_path(warc, name).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and "a-post.vov" in lines[0]
