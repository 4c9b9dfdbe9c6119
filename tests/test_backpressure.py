"""The archive's backlog is bounded: when the catalogue cannot keep up, downloads wait for it
instead of piling fetched pages up in memory, and the crawl ends as if nothing happened."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from concurrent.futures import Future

import pytest

from crawler.archive import Backlog
from tests.crawl import check_archive, crawl_command
from tests.sample_site import SampleSite, serve

ARTICLE = re.compile(r"^/[a-z0-9-]+/[a-z0-9-]+-post\d+\.vov$")
CONCURRENCY = 4


def test_room_waits_until_the_held_bytes_are_committed() -> None:
    backlog = Backlog(limit=100)
    first, second = Future[None](), Future[None]()
    backlog.holding(60, first)
    backlog.holding(60, second)
    assert backlog.full

    async def scenario() -> list[str]:
        order: list[str] = []
        waiting = asyncio.ensure_future(backlog.room())
        await asyncio.sleep(0)  # let it start waiting
        assert not waiting.done()
        # the archive's thread resolves the commits
        await asyncio.to_thread(first.set_result, None)
        await asyncio.wait_for(waiting, timeout=10)
        order.append("room")
        assert backlog.bytes == 60 and not backlog.full
        await backlog.room()  # under the limit: at once
        return order

    assert asyncio.run(scenario()) == ["room"]
    second.set_result(None)
    assert backlog.bytes == 0


@pytest.mark.slow
def test_a_stalled_catalogue_stops_downloads_until_it_catches_up(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The catalogue's write lock is taken by someone else mid-crawl (a backup, a long
    query): while it is held the crawl sends at most the requests already under way."""
    import subprocess

    from tests.crawl import PROJECT

    site = SampleSite(n_articles=40)
    database = tmp_path / "archive.sqlite3"
    locked, served_while_locked, respond = threading.Event(), [0], site.respond
    articles = [0]
    blocker: list[sqlite3.Connection] = []

    def counting(target: str, base: str):  # type: ignore[no-untyped-def]
        if locked.is_set():
            served_while_locked[0] += 1
        elif ARTICLE.match(target):
            articles[0] += 1
            if articles[0] == 5:  # mid-crawl: someone takes the catalogue's write lock
                connection = sqlite3.connect(database, isolation_level=None, timeout=30,
                                             check_same_thread=False)
                connection.execute("BEGIN IMMEDIATE")
                blocker.append(connection)
                locked.set()
        return respond(target, base)

    site.respond = counting  # type: ignore[method-assign]
    with serve(site) as origin:
        command, env = crawl_command(origin, tmp_path, settings={
            "ARCHIVE_BACKLOG_BYTES": "1", "CONCURRENT_REQUESTS": str(CONCURRENCY),
            "CONCURRENT_REQUESTS_PER_DOMAIN": str(CONCURRENCY), "LOG_LEVEL": "INFO"})
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        try:
            assert locked.wait(timeout=120), "the crawl never got going"
            # a window long enough for the whole site to be fetched without backpressure
            threading.Event().wait(3)
            during = served_while_locked[0]
            blocker[0].execute("COMMIT")
            blocker[0].close()
            _, log = process.communicate(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, log[-3000:]
    assert during <= CONCURRENCY + 1, f"{during} requests sent while the archive was stalled"
    assert "'archive/backpressure_waits':" in log
    assert check_archive(tmp_path, f"sqlite:///{database}") > 40
