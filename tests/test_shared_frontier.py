"""The shared frontier's Redis state (storage.redisqueue.frontier) and the requests it holds
(crawler.frontier.codec), against the machine's real Redis server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import redis
from scrapy import Request, Spider

from crawler.frontier.codec import entry_of, request_of
from storage.redisqueue.frontier import JobOver, SharedFrontier, fingerprint
from tests.conftest import REDIS_URL


@pytest.fixture
def worker(frontier_namespace: str) -> Iterator[Callable[..., SharedFrontier]]:
    """Workers of one job of site "s", each with its own connection."""
    made: list[SharedFrontier] = []

    def join(name: str, lease: float = 60.0, max_tries: int = 3) -> SharedFrontier:
        frontier = SharedFrontier.connect(REDIS_URL, "s", lease_seconds=lease, max_tries=max_tries,
                                          namespace=frontier_namespace)
        frontier.join(name)
        made.append(frontier)
        return frontier

    yield join
    for frontier in made:
        frontier.redis.connection_pool.disconnect()


def entry(url: str) -> bytes:
    return fingerprint(url) + url.encode()


def urls_of(entries: list[bytes]) -> list[str]:
    return [e[12:].decode() for e in entries]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_url_is_queued_once_per_job_highest_priority_first(worker) -> None:
    a = worker("a")
    assert a.push([(0, entry("u1")), (10, entry("hub")), (0, entry("u1")), (0, entry("u2"))]) == 3
    assert a.push([(5, entry("u2"))]) == 0  # seen, whatever its priority
    assert a.seen([fingerprint("u1"), fingerprint("u3")]) == [True, False]
    assert urls_of(a.lease(10)) == ["hub", "u1", "u2"]
    assert a.lease(10) == []


def test_workers_racing_never_lease_the_same_request(worker) -> None:
    pusher = worker("pusher")
    urls = [f"https://example.org/{i}" for i in range(2000)]
    for start in range(0, len(urls), 500):
        pusher.push([(0, entry(u)) for u in urls[start:start + 500]])
    workers = [worker(f"w{i}") for i in range(4)]
    taken: list[list[str]] = [[] for _ in workers]

    def drain(index: int) -> None:
        while batch := workers[index].lease(7):
            taken[index] += urls_of(batch)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [u for part in taken for u in part]
    assert sorted(everything) == sorted(urls)  # each once: none lost, none twice
    assert all(taken), "every worker got a share"


def test_a_lease_not_renewed_goes_back_to_the_queue_and_a_renewed_one_stays(worker) -> None:
    dead, alive, other = worker("dead", lease=0.3), worker("alive", lease=0.3), worker("other", lease=0.3)
    dead.push([(0, entry("a")), (0, entry("b"))])
    assert urls_of(dead.lease(1)) == ["a"]
    assert urls_of(alive.lease(1)) == ["b"]
    deadline = time.monotonic() + 0.9
    while time.monotonic() < deadline:  # "alive" renews, "dead" does not
        assert alive.renew() == 1
        time.sleep(0.05)
    assert urls_of(other.lease(5)) == ["a"]  # back at the front of the queue
    assert other.stats().requeued == 1
    assert alive.acknowledge([fingerprint("b")]) == 1
    assert other.acknowledge([fingerprint("a")]) == 1
    assert dead.acknowledge([fingerprint("a")]) == 0  # its lease ended long ago
    stats = other.stats()
    assert (stats.leases, stats.queued, stats.acked) == (0, 0, 2)


def test_a_request_whose_lease_keeps_expiring_is_set_aside_counted(worker) -> None:
    a = worker("a", lease=0.05, max_tries=2)
    a.push([(0, entry("poison"))])
    assert a.lease(1)
    wait_until(lambda: a.lease(1) != [])  # expired once: requeued, leased again
    wait_until(lambda: a.lease(1) == [] and a.stats().dropped == 1)  # expired twice: set aside
    assert urls_of(a.dropped()) == ["poison"]


def test_an_idle_worker_gives_back_what_it_holds(worker) -> None:
    a, b = worker("a"), worker("b")
    a.push([(0, entry("x")), (0, entry("y"))])
    a.lease(2)
    a.acknowledge([fingerprint("x")])
    assert a.idle() == 1
    assert urls_of(b.lease(5)) == ["y"]


def test_a_job_ends_once_queue_leases_and_busy_workers_are_gone(worker, frontier_namespace) -> None:
    a, b = worker("a"), worker("b")
    assert a.job_id == b.job_id
    a.push([(0, entry("x"))])
    a.idle()
    assert not a.finished()  # x queued, b busy (it joined and never went idle)
    [leased] = b.lease(1)
    b.idle()  # gives x back
    assert not a.finished()
    [leased] = a.lease(1)
    a.acknowledge([leased[:12]])
    assert not a.finished()  # a leased, so it counts as busy until idle
    a.idle()
    client = redis.StrictRedis.from_url(REDIS_URL)
    robots = f"{frontier_namespace}:s:job:{a.job_id}:robots"  # storage.redisqueue.robots's copies
    client.sadd(robots, "example.org")
    client.hset(robots + ":example.org", "status", 200)
    assert a.finished() and b.finished()
    assert not client.exists(robots, robots + ":example.org")
    assert not client.exists(f"{frontier_namespace}:s:job:{a.job_id}:seen")
    assert 0 < client.ttl(f"{frontier_namespace}:s:job:{a.job_id}:stats")
    later = worker("c")
    assert later.job_id == a.job_id + 1  # a new job: what the old one saw is not seen
    assert later.push([(0, entry("x"))]) == 1


def test_a_worker_that_died_busy_stops_counting_once_its_deadline_passes(worker) -> None:
    a = worker("a")
    worker("dead", lease=0.2)  # joins (busy), then never leases, renews nor goes idle
    a.idle()
    assert not a.finished()
    wait_until(a.finished)


def test_a_job_every_worker_left_is_abandoned_and_the_next_run_starts_afresh(
        worker, frontier_namespace) -> None:
    stopped = worker("stopped", lease=0.2)
    stopped.push([(10, entry("sitemap")), (0, entry("article"))])
    [sitemap] = stopped.lease(1)  # then it stops (a limit, a signal, SIGKILL): nobody renews
    client = redis.StrictRedis.from_url(REDIS_URL)

    def deadlines_passed() -> bool:  # by Redis's clock, which sets them
        seconds, micros = client.time()
        deadlines = [score for key in ("busy", "leases")
                     for _, score in client.zrange(stopped.prefix + key, 0, -1, withscores=True)]
        return all(deadline < seconds * 1000 + micros / 1000 for deadline in deadlines)

    wait_until(deadlines_passed)
    later = worker("later")
    assert later.job_id == stopped.job_id + 1
    assert later.push([(10, entry("sitemap"))]) == 1  # not "seen" by a dead job: read again
    assert not client.exists(f"{stopped.prefix}seen", f"{stopped.prefix}q:0")
    with pytest.raises(JobOver):
        stopped.push([(0, entry("late"))])  # a straggler of the old job queues nothing


def test_a_push_after_the_job_ended_is_refused(worker) -> None:
    a = worker("a")
    a.idle()
    assert a.finished()
    with pytest.raises(JobOver):
        a.push([(0, entry("late"))])


def test_requests_handed_back_unsent_cost_no_try(worker) -> None:
    a, b = worker("a", max_tries=1), worker("b", max_tries=1)
    a.push([(0, entry("sent")), (0, entry("unsent"))])
    assert len(a.lease(2)) == 2
    assert a.idle(unsent=[fingerprint("unsent")]) == 2
    assert urls_of(b.lease(5)) == ["unsent"]  # "sent" used its one try: set aside
    assert urls_of(a.dropped()) == ["sent"]


class Site(Spider):
    name = "site"

    def parse_article(self, response):  # pragma: no cover - named, not called
        pass

    def fetch_failed(self, failure):  # pragma: no cover
        pass


def test_a_request_travels_whole_except_what_its_worker_looks_up_again() -> None:
    spider = Site()
    url = ("https://vov.vn/the-gioi/quan-sat/tong-thong-my-tuyen-bo-ve-thoa-thuan-thuong-mai-voi-"
           "trung-quoc-post1234567.vov")
    lastmod = datetime(2026, 11, 30, 10, 0, 0, 250000, tzinfo=UTC)
    request = Request(url, callback=spider.parse_article, errback=spider.fetch_failed, priority=3,
                      headers={"If-None-Match": '"abc"'}, cb_kwargs={"n": 1},
                      meta={"kind": "article", "lastmod": lastmod, "reason": "lastmod",
                            "listed_in": "https://vov.vn/sitemap/2026-11.xml",
                            "last_capture": object(), "download_slot": "vov.vn"})
    encoded = entry_of(request, spider)
    assert encoded[:12] == fingerprint(url)
    back = request_of(encoded, spider)
    assert (back.url, back.priority, back.cb_kwargs) == (url, 3, {"n": 1})
    assert back.callback == spider.parse_article and back.errback == spider.fetch_failed
    assert back.headers.get("If-None-Match") == b'"abc"'
    assert back.meta == {"kind": "article", "lastmod": lastmod, "reason": "lastmod",
                         "listed_in": "https://vov.vn/sitemap/2026-11.xml"}
    assert back.meta["lastmod"].tzinfo is not None
    plain = Request(url, callback=spider.parse_article, errback=spider.fetch_failed,
                    meta={"kind": "article", "lastmod": lastmod, "reason": "new",
                          "listed_in": "https://vov.vn/sitemap/2026-11.xml"})
    assert len(entry_of(plain, spider)) < 200  # Redis memory per queued URL


def test_an_entry_of_another_version_is_refused_not_misread() -> None:
    spider = Site()
    encoded = entry_of(Request("https://example.org/", callback=spider.parse_article), spider)
    with pytest.raises(ValueError, match="unknown version"):
        request_of(encoded[:12] + b"\x7f" + encoded[13:], spider)
