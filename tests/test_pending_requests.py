"""Pending requests spilling to disk (crawler.frontier.spilling): the first PENDING_IN_MEMORY
in memory, the rest in a folder of the run's own, removed at its end; a dead run's leftover
removed by the next run on the host; JOBDIR and PENDING_REQUESTS_DIR="" keep Scrapy's own
scheduler."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request, Spider
from scrapy.core.scheduler import Scheduler
from scrapy.utils.request import request_from_dict
from scrapy.utils.test import get_crawler

from crawler.exitcodes import Unusable
from crawler.frontier.spilling import SpillingScheduler, remove_leftovers, request_dict, scheduler_of


class HtmlRequest(Request):
    """A Request subclass: its entry names its class."""


class _Spider(Spider):
    name = "pending"

    def parse(self, response):  # type: ignore[no-untyped-def]  # pragma: no cover
        yield from ()


NO_ENGINE_NEEDED = "scrapy.pqueues.ScrapyPriorityQueue"
QUEUES = {"SCHEDULER_DISK_QUEUE": "crawler.frontier.spilling.RequestDiskQueue",  # the project's
          "SCHEDULER_START_DISK_QUEUE": "crawler.frontier.spilling.StartRequestDiskQueue"}


def _scheduler(settings: dict[str, object]) -> Scheduler:
    crawler = get_crawler(_Spider, {**QUEUES, **settings})
    crawler.spider = _Spider.from_crawler(crawler)
    return scheduler_of(crawler)


def test_requests_wait_in_the_runs_folder_which_goes_with_it(tmp_path: Path) -> None:
    scheduler = _scheduler({"PENDING_REQUESTS_DIR": str(tmp_path), "PENDING_IN_MEMORY": 0,
                            "SCHEDULER_PRIORITY_QUEUE": NO_ENGINE_NEEDED})
    assert isinstance(scheduler, SpillingScheduler)
    spider = scheduler.crawler.spider  # type: ignore[union-attr]
    scheduler.open(spider)
    urls = [f"https://vov.vn/a-{n}" for n in range(50)]
    for url in urls:
        assert scheduler.enqueue_request(Request(url, callback=spider.parse))
    assert scheduler.folder.parent == tmp_path
    assert any(path.stat().st_size for path in scheduler.folder.rglob("*") if path.is_file())
    assert len(scheduler) == 50 and len(scheduler.mqs) == 0  # none held in memory
    # a request that will not pickle is kept in memory, as Scrapy keeps it, and not lost
    odd = Request("https://vov.vn/odd", callback=spider.parse, meta={"f": lambda: None})
    assert scheduler.enqueue_request(odd)
    start = Request("https://vov.vn/left-over", callback=spider.parse, meta={"is_start_request": True})
    assert scheduler.enqueue_request(start)
    stats = scheduler.stats.get_stats()  # type: ignore[union-attr]
    assert (stats["scheduler/enqueued/disk"], stats["scheduler/enqueued/memory"]) == (51, 1)
    taken = [scheduler.next_request() for _ in range(52)]
    assert sorted(request.url for request in taken) == sorted(  # type: ignore[union-attr]
        [*urls, odd.url, start.url])
    assert scheduler.next_request() is None
    scheduler.close("finished")
    assert list(tmp_path.iterdir()) == []


def test_requests_beyond_the_memory_bound_spill_and_come_back_by_priority(
        tmp_path: Path) -> None:
    scheduler = _scheduler({"PENDING_REQUESTS_DIR": str(tmp_path), "PENDING_IN_MEMORY": 10,
                            "SCHEDULER_PRIORITY_QUEUE": NO_ENGINE_NEEDED})
    spider = scheduler.crawler.spider  # type: ignore[union-attr]
    scheduler.open(spider)
    urls = [f"https://vov.vn/a-{n}" for n in range(50)]
    for url in urls:
        assert scheduler.enqueue_request(Request(url, callback=spider.parse))
    assert (len(scheduler.mqs), len(scheduler.dqs)) == (10, 40)  # type: ignore[arg-type]
    hub = Request("https://vov.vn/hub", callback=spider.parse, priority=10)
    assert scheduler.enqueue_request(hub)  # while the crawl spills: on disk
    first, second = scheduler.next_request(), scheduler.next_request()
    assert hub.url in (first.url, second.url)  # type: ignore[union-attr]  # one request later at most
    taken = [first, second]
    while (request := scheduler.next_request()) is not None:
        assert len(scheduler.mqs) <= 10
        taken.append(request)
    assert sorted(request.url for request in taken) == sorted([*urls, hub.url])  # type: ignore[union-attr]
    stats = scheduler.stats.get_stats()  # type: ignore[union-attr]
    assert (stats["scheduler/enqueued/memory"], stats["scheduler/enqueued/disk"]) == (10, 41)
    # drained, it holds the next ones in memory again
    assert scheduler.enqueue_request(Request("https://vov.vn/later", callback=spider.parse))
    assert (len(scheduler.mqs), len(scheduler.dqs)) == (1, 0)  # type: ignore[arg-type]
    scheduler.close("finished")
    assert list(tmp_path.iterdir()) == []


def test_jobdir_or_no_folder_keep_scrapys_own_scheduler(tmp_path: Path) -> None:
    for settings in ({"PENDING_REQUESTS_DIR": ""},
                     {"PENDING_REQUESTS_DIR": str(tmp_path / "p"), "JOBDIR": str(tmp_path / "j")}):
        scheduler = _scheduler(settings)
        assert type(scheduler) is Scheduler, settings
    assert not (tmp_path / "p").exists()


def test_a_dead_runs_leftover_is_removed_a_live_ones_kept(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead_pid = int(ended.stdout)
    alive = _scheduler({"PENDING_REQUESTS_DIR": str(tmp_path)})  # this process's own folder
    host = alive.folder.name.rsplit("-", 2)[0]  # run-<host>
    dead = tmp_path / f"{host}-{dead_pid}-abc"
    elsewhere = tmp_path / f"run-another.host-{dead_pid}-abc"
    longer_host = tmp_path / f"{host}-2-{dead_pid}-abc"  # host `<ours>-2`: not ours
    for folder in (dead, elsewhere, longer_host):
        (folder / "requests.queue").mkdir(parents=True)
    remove_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.folder.name, elsewhere.name, longer_host.name])


def test_an_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(Unusable, match="PENDING_REQUESTS_DIR=.*cannot be used"):
        _scheduler({"PENDING_REQUESTS_DIR": str(tmp_path / "file" / "pending")})


def test_a_request_goes_to_disk_as_scrapy_would_put_it() -> None:
    """RequestDiskQueue names callbacks without inspect; the entry is Scrapy's own."""
    spider = _Spider()
    spider.parse_article = spider.parse  # type: ignore[method-assign]  # an alias: Scrapy's way
    requests = [
        Request("https://vov.vn/a", callback=spider.parse, errback=spider.parse, priority=3,
                meta={"kind": "article", "lastmod": None}, headers={"If-None-Match": '"x"'},
                cb_kwargs={"n": 1}, flags=["f"], dont_filter=True),
        Request("https://vov.vn/b"),
        Request("https://vov.vn/c", callback=spider.parse_article),
        HtmlRequest("https://vov.vn/d", callback=spider.parse),
    ]
    for request in requests:
        assert request_dict(request, spider) == request.to_dict(spider=spider)
        back = request_from_dict(pickle.loads(pickle.dumps(request_dict(request, spider))),
                                 spider=spider)
        assert (back.url, back.callback, back.errback, back.meta, back.headers) == (
            request.url, request.callback, request.errback, request.meta, request.headers)
