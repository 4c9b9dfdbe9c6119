"""SharedPolitenessHandler: Scrapy's HTTP/1.1 download handler, which in a shared crawl job
(FRONTIER_URL) first takes the host's turn in the job's budget (storage.redisqueue.politeness).

Why a download handler and not a downloader middleware: Scrapy runs downloader middlewares
before a request enters its download slot, and the slot then applies this process's own
delay (with its jitter drawn afresh) and concurrency. A request a middleware let go at its
reserved time could still wait there and go out next to another worker's request. The
handler runs after the slot, immediately before the connection: the reserved time is the
time the request is sent, and everything before (the archive's backpressure, robots.txt,
the slot's own limits) has already been waited for.

The turn: one of the host's tokens (as many as the slot's concurrency,
CONCURRENT_REQUESTS_PER_DOMAIN or DOWNLOAD_SLOTS) and a send time the slot's delay after the
job's previous request to the host (DOWNLOAD_DELAY, as AutoThrottle has adjusted it in this
process, with Scrapy's jitter: DOWNLOAD_DELAY_JITTER). The token is held until the response
or the failure, renewed every third of POLITENESS_HOLD meanwhile, and released whatever
happens (a dead worker's expires). When every token is held, the request asks again shortly.
If Redis fails, the request goes out under this process's own limits, logged and counted.

Without FRONTIER_URL this is Scrapy's handler, unchanged.

Keys: `<FRONTIER_NAMESPACE>:polite:<host>:` (the download slot's key: the host name unless
a request names its slot), shared by every job and site of the archive.

Settings: POLITENESS_HOLD. Stats: politeness/turns,
politeness/delayed (requests that waited for their time), politeness/delay_seconds,
politeness/token_waits (requests that found every token held), politeness/tokens_lost
(expired before their request was done), politeness/redis_errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import redis
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.utils.httpobj import urlparse_cached

from crawler.config import setting
from crawler.frontier import frontier_of
from crawler.politeness import close_shared_redis, shared_redis
from storage.redisqueue.connection import holder_name
from storage.redisqueue.politeness import HostBudgets, Turn

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.core.downloader import Slot
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

FIRST_PAUSE, LONGEST_PAUSE = 0.005, 0.05  # seconds between asks while every token is held


class SharedPolitenessHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.crawler = crawler
        self.hold = max(1.0, setting(crawler.settings, "POLITENESS_HOLD", float))
        self.budgets: HostBudgets | None = None
        self.held: dict[str, set[str]] = defaultdict(set)  # host -> tokens of requests out
        self._renewal: asyncio.Task[None] | None = None
        self._redis_failing = False

    async def download_request(self, request: Request) -> Response:
        budgets = self._budgets()
        if budgets is None:
            return await super().download_request(request)
        host = str(request.meta.get("download_slot") or urlparse_cached(request).hostname or "")
        token = holder_name()
        try:
            turn = await self._take_turn(budgets, host, token)
            if turn is not None:
                await self._wait_for(turn, budgets, host)
            return await super().download_request(request)
        finally:
            await self._release(budgets, host, token)

    def _budgets(self) -> HostBudgets | None:
        if self.budgets is None:
            frontier, client = frontier_of(self.crawler), shared_redis(self.crawler)
            if frontier is None or client is None:
                return None
            self.budgets = HostBudgets(client, f"{frontier.namespace}:polite:")
        return self.budgets

    def _slot(self, host: str) -> Slot | None:
        engine = self.crawler.engine
        return engine.downloader.slots.get(host) if engine is not None else None

    async def _take_turn(self, budgets: HostBudgets, host: str, token: str) -> Turn | None:
        """The request's token and send time; None if Redis failed (this process's limits)."""
        slot, pause, waited = self._slot(host), FIRST_PAUSE, False
        concurrency = slot.concurrency if slot is not None else \
            self.crawler.settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN")
        while True:
            delay = slot.download_delay() if slot is not None else \
                self.crawler.settings.getfloat("DOWNLOAD_DELAY")
            try:
                turn = await budgets.take_turn(host, token, concurrency, delay, self.hold)
            except redis.RedisError as error:
                self._redis_failed(error)
                return None
            if turn is not None:
                break
            if not waited:
                waited = True
                self.crawler.stats.inc_value("politeness/token_waits")
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
        self._redis_failing = False
        self.crawler.stats.inc_value("politeness/turns")
        self.held[host].add(token)
        if self._renewal is None or self._renewal.done():
            self._renewal = asyncio.ensure_future(self._renew_while_held(budgets))
        return turn

    async def _wait_for(self, turn: Turn, budgets: HostBudgets, host: str) -> None:
        if turn.wait > 0:
            self.crawler.stats.inc_value("politeness/delayed")
            self.crawler.stats.inc_value("politeness/delay_seconds", round(turn.wait, 3))
            await asyncio.sleep(turn.wait)
        if turn.delay > 0:  # late for its time (a busy reactor): the next one waits from now
            try:
                await budgets.sending(host, turn.delay)
            except redis.RedisError as error:
                self._redis_failed(error)

    async def _release(self, budgets: HostBudgets, host: str, token: str) -> None:
        self.held[host].discard(token)
        if not self.held[host]:
            del self.held[host]
        try:
            await budgets.release(host, token)  # also when it was never taken: a no-op
        except redis.RedisError as error:
            self._redis_failed(error)

    async def _renew_while_held(self, budgets: HostBudgets) -> None:
        while self.held:
            await asyncio.sleep(self.hold / 3)
            for host, tokens in list(self.held.items()):
                try:
                    kept = await budgets.renew(host, tokens, self.hold)
                except redis.RedisError as error:
                    self._redis_failed(error)
                    continue
                if kept < len(tokens):  # renewed too late (a stalled process): say so
                    self.crawler.stats.inc_value("politeness/tokens_lost", len(tokens) - kept)
                    logger.warning("%d tokens of host %s expired before their requests were "
                                   "done", len(tokens) - kept, host)

    def _redis_failed(self, error: redis.RedisError) -> None:
        self.crawler.stats.inc_value("politeness/redis_errors")
        if not self._redis_failing:
            self._redis_failing = True
            logger.error("The job's shared politeness budget cannot be reached (%s): requests "
                         "go out under this worker's own limits until it can", error)

    async def close(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
        await super().close()
        await close_shared_redis(self.crawler)
