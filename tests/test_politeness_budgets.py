"""The shared politeness state in Redis (storage.redisqueue.politeness, storage.redisqueue.robots) against the
machine's real server: send times spaced under racing callers, tokens that a dead holder's
expiry frees, robots.txt claims and copies; and the robots.txt middleware of a job's worker
parsing the job's copy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from scrapy import Request, Spider, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from crawler.frontier import frontier_of
from crawler.politeness import close_shared_redis
from crawler.politeness.robots import SharedRobotsTxtMiddleware
from storage.redisqueue.politeness import HostBudgets
from storage.redisqueue.robots import KEPT_SECONDS, JobRobots, StoredRobots
from tests.conftest import REDIS_URL


def run(namespace: str, scenario: Callable[[redis.asyncio.Redis], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        try:
            return await scenario(client)
        finally:
            await client.aclose()
    return asyncio.run(main())


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_racing_callers_get_send_times_a_delay_apart(frontier_namespace: str) -> None:
    async def scenario(client: redis.asyncio.Redis) -> None:
        budgets = HostBudgets(client, f"{frontier_namespace}:polite:")
        turns = await asyncio.gather(*(budgets.take_turn("h", f"t{i}", 100, 0.05, 30)
                                       for i in range(40)))
        times = sorted(turn.at for turn in turns)  # type: ignore[union-attr]
        assert [b - a for a, b in zip(times, times[1:])] == [50_000] * 39  # µs, Redis's clock
        assert max(turn.wait for turn in turns) >= 38 * 0.05  # type: ignore[union-attr]
        # another host has a budget of its own
        assert (await budgets.take_turn("other", "t", 1, 0.05, 30)).wait == 0  # type: ignore[union-attr]
        # a request sent late pushes the next one back from when it went
        late = await budgets.take_turn("late", "a", 10, 0.05, 30)
        await asyncio.sleep(0.2)
        await budgets.sending("late", 0.05)
        following = await budgets.take_turn("late", "b", 10, 0.05, 30)
        assert following.at - late.at >= 250_000  # type: ignore[union-attr]
        for key in (*budgets.keys("h"), *budgets.keys("other"), *budgets.keys("late")):
            assert 0 < await client.pttl(key) <= 30_000 + 60_000 + 5_000, key  # expire once unused
    run(frontier_namespace, scenario)


def test_at_most_concurrency_tokens_are_out_and_a_released_one_is_free(frontier_namespace: str) -> None:
    async def scenario(client: redis.asyncio.Redis) -> None:
        budgets = HostBudgets(client, f"{frontier_namespace}:polite:")
        got = await asyncio.gather(*(budgets.take_turn("h", f"t{i}", 2, 0, 30) for i in range(5)))
        assert sum(turn is not None for turn in got) == 2
        holder = next(f"t{i}" for i, turn in enumerate(got) if turn is not None)
        assert await budgets.take_turn("h", "late", 2, 0, 30) is None
        await budgets.release("h", holder)
        assert await budgets.take_turn("h", "late", 2, 0, 30) is not None
        assert await budgets.take_turn("h", "later", 2, 0, 30) is None
    run(frontier_namespace, scenario)


def test_a_dead_holders_token_expires_and_a_renewed_one_does_not(frontier_namespace: str) -> None:
    async def scenario(client: redis.asyncio.Redis) -> None:
        budgets = HostBudgets(client, f"{frontier_namespace}:polite:")
        assert await budgets.take_turn("dead", "gone", 1, 0, 0.3) is not None  # never released
        assert await budgets.take_turn("dead", "waiting", 1, 0, 30) is None
        await until(lambda: _granted(budgets, "dead", "waiting"))

        assert await budgets.take_turn("alive", "kept", 1, 0, 0.3) is not None
        started = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() < started + 0.9:  # three deadlines, renewed
            assert await budgets.renew("alive", ["kept"], 0.3) == 1
            assert await budgets.take_turn("alive", "waiting", 1, 0, 30) is None
            await asyncio.sleep(0.1)  # the holder's renewal period, not a synchronisation
        assert await budgets.renew("alive", ["gone"], 0.3) == 0  # never held: not made up
    run(frontier_namespace, scenario)


async def _granted(budgets: HostBudgets, host: str, token: str) -> bool:
    return await budgets.take_turn(host, token, 1, 0, 30) is not None


def test_one_worker_claims_a_robots_txt_until_it_releases_or_dies(frontier_namespace: str) -> None:
    async def scenario(client: redis.asyncio.Redis) -> None:
        prefix = f"{frontier_namespace}:s:job:1:"
        first, second = JobRobots(client, prefix, "w1"), JobRobots(client, prefix, "w2")
        assert await first.stored("h:80") is None
        claims = await asyncio.gather(first.claim("h:80", 30), second.claim("h:80", 30))
        assert claims == [True, False]
        assert not await second.keep_claim("h:80", 30)
        await second.release("h:80")  # not its claim: nothing happens
        assert not await second.claim("h:80", 30)
        await first.release("h:80")
        assert await second.claim("h:80", 0.2)  # and then dies without fetching
        await until(lambda: first.claim("h:80", 30))

        await first.store("h:80", StoredRobots(200, b"User-agent: *\nDisallow: /private\n"))
        await second.store("e:80", StoredRobots(error="ConnectionRefusedError: refused"))
        assert await second.stored("h:80") == StoredRobots(200, b"User-agent: *\nDisallow: /private\n")
        assert (await first.stored("e:80")).error.startswith("ConnectionRefusedError")  # type: ignore[union-attr]
        assert set(await client.smembers(prefix + "robots")) == {b"h:80", b"e:80"}
        for key in (first.key("h:80"), first.key("e:80"), prefix + "robots"):
            assert 0 < await client.ttl(key) <= KEPT_SECONDS
    run(frontier_namespace, scenario)


def test_a_worker_parses_the_jobs_copy_and_tells_the_spider(frontier_namespace: str) -> None:
    """No fetch (this crawler has no engine: a fetch would fail): the copy another worker
    stored is parsed, obeyed, and the spider hears of its Sitemap lines."""
    spider = type("S", (Spider,), {"name": "s"})
    crawler = get_crawler(spider, {"FRONTIER_URL": REDIS_URL, "FRONTIER_NAMESPACE": frontier_namespace,
                                   "ROBOTSTXT_OBEY": True})
    frontier = frontier_of(crawler)
    assert frontier is not None
    frontier.join("test")
    heard: list[list[str]] = []

    def robots_parsed(robotparser: Any, request: Request) -> None:
        heard.append(list(robotparser.rp.sitemaps))

    crawler.signals.connect(robots_parsed, signal=signals.robots_parsed)
    middleware = SharedRobotsTxtMiddleware.from_crawler(crawler)
    body = b"User-agent: *\nDisallow: /private\n\nSitemap: http://h.test/from-robots.xml\n"

    async def scenario(client: redis.asyncio.Redis) -> list[str]:
        await JobRobots(client, frontier.prefix, "another").store("h.test", StoredRobots(200, body))
        outcomes = []
        for path in ("/private/page", "/news"):
            try:
                await middleware.process_request(Request(f"http://h.test{path}"))
                outcomes.append("allowed")
            except IgnoreRequest:
                outcomes.append("forbidden")
        await close_shared_redis(crawler)
        return outcomes

    try:
        assert run(frontier_namespace, scenario) == ["forbidden", "allowed"]
    finally:
        frontier.redis.close()
    assert heard == [["http://h.test/from-robots.xml"]]  # once, as after a fetch
    assert crawler.stats.get_value("robotstxt/from_job") == 1
    assert crawler.stats.get_value("robotstxt/request_count") is None
