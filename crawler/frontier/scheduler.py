"""The scheduler of a worker of a shared crawl job: requests go to the job's queue in Redis
and come back leased (storage.redisqueue.frontier); without FRONTIER_URL it is Scrapy's own.

Pushes are batched (one Redis round trip for many requests) and wait until the catalogue
holds their URLs (crawler.frontier.push_after). Leases are taken a few at a time and renewed
off the reactor every quarter of FRONTIER_LEASE while the worker lives; the archive
acknowledges each request once its outcome is committed (crawler.archive), whichever worker
fetched it. A retry (a request that bypasses duplicate filtering) stays in this worker: the
lease of its URL is still this worker's.

When the worker has nothing left, it waits for its archive to commit what it was handed,
gives back any lease its requests ended without acknowledging (each such return counts a
try), and asks whether the job is over: queue empty, no lease outstanding, no worker busy.
Until then the crawl stays open, leasing what other workers push or what a dead worker's
expired leases give back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.core.scheduler import BaseScheduler, Scheduler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread

from crawler.archive import Archive
from crawler.config import setting
from crawler.frontier import frontier_of, remembered
from crawler.frontier.codec import entry_of, request_of
from storage.redisqueue.frontier import FrontierUnavailable, SharedFrontier

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

PUSH_BATCH = 200  # requests queued locally before one push
POLL_SECONDS = 0.5  # how often an idle worker looks for work or the job's end


class FrontierScheduler(BaseScheduler):
    def __init__(self, crawler: Crawler, frontier: SharedFrontier):
        self.crawler = crawler
        self.frontier = frontier
        self.stats = crawler.stats
        self.batch = max(1, setting(crawler.settings, "FRONTIER_LEASE_BATCH", int))
        self.spider: Spider | None = None
        self.local: deque[Request] = deque()  # leased here, or retries of what is
        self.outbox: list[Request] = []
        self.job_over = False
        self._checking: Any = None
        self._injecting = False  # set while leased requests are handed to the engine
        self._renewal = LoopingCall(self._renew)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self | Scheduler:  # type: ignore[override]
        frontier = frontier_of(crawler)
        if frontier is None:
            return Scheduler.from_crawler(crawler)
        return cls(crawler, frontier)

    def open(self, spider: Spider) -> None:
        self.spider = spider
        if self.frontier.job_id is None:  # no run lifecycle joined for us (WARC_ENABLED off)
            self.frontier.join(f"{socket.gethostname()}:{os.getpid()}")
        self.stats.set_value("frontier/job", self.frontier.job_id)
        self._renewal.start(self.frontier.lease_ms / 4000, now=False)
        logger.info("Worker %s of job %s of site %r (shared frontier)", self.frontier.worker,
                    self.frontier.job_id, self.frontier.site)

    def close(self, reason: str) -> None:
        if self._renewal.running:
            self._renewal.stop()
        try:
            self._flush(everything=True)
            given_back = self.frontier.idle()  # leases of what this worker did not finish
        except FrontierUnavailable as error:
            logger.error("Could not hand back this worker's requests (%s); their leases expire "
                         "and other workers take them", error)
            return
        if given_back:
            logger.info("Gave back %d requests this worker had not finished", given_back)

    def has_pending_requests(self) -> bool:
        return bool(self.local or self.outbox)

    def enqueue_request(self, request: Request) -> bool:
        if request.dont_filter or self._injecting:  # a retry, or leased: this worker's
            self.local.append(request)
            if not self._injecting:
                self.stats.inc_value("frontier/kept_local")
            return True
        self.outbox.append(request)
        if len(self.outbox) >= PUSH_BATCH:
            self._flush()
        return True

    def next_request(self) -> Request | None:
        self._flush()
        if not self.local:
            self._lease()
        if not self.local:
            return None
        return self.local.popleft()

    def _flush(self, everything: bool = False) -> None:
        """Push what the catalogue holds already (everything: all, at the end)."""
        if not self.outbox:
            return
        ready = self.outbox if everything else [r for r in self.outbox if remembered(r)]
        if not ready:
            return
        self.outbox = [] if everything else [r for r in self.outbox if not remembered(r)]
        assert self.spider is not None
        entries = [(request.priority, entry_of(request, self.spider)) for request in ready]
        new = self.frontier.push(entries)
        self.stats.inc_value("frontier/pushed", new)
        if len(entries) > new:
            self.stats.inc_value("frontier/seen_already", len(entries) - new)

    def _lease(self) -> None:
        self._read(self.frontier.lease(self.batch))

    def _read(self, entries: list[bytes]) -> None:
        assert self.spider is not None
        for entry in entries:
            try:
                request = request_of(entry, self.spider)
            except Exception:  # its lease is acknowledged: set aside, said, never retried forever
                logger.error("A request in the shared queue cannot be read (%d bytes): "
                             "skipped", len(entry), exc_info=True)
                self.stats.inc_value("frontier/unreadable")
                self.frontier.acknowledge([entry[:12]])
                continue
            self.local.append(request)
            self.stats.inc_value("frontier/leased")

    def _renew(self) -> Any:
        return deferToThread(self.frontier.renew).addErrback(self._renewal_failed)

    def _renewal_failed(self, failure: Failure) -> None:
        self.stats.inc_value("frontier/renewal_errors")
        logger.warning("Could not renew this worker's leases (will try again): %s", failure.value)

    # ---- the end of the job ---------------------------------------------------------------

    def spider_idle(self, spider: Spider) -> None:
        """Nothing left here: the crawl stays open until the job is over."""
        if self.job_over:
            return
        if self._checking is None:
            self._checking = deferred_from_coro(self._check_job())
        raise DontCloseSpider

    async def _check_job(self) -> None:
        """Once the archive has committed what this worker was handed: give back what it holds
        without an outcome, then wait for the job's end or for work (pushed by others, or
        given back by a dead worker's expired leases), looking every POLL_SECONDS."""
        try:
            # queued after every write handed over so far: once committed, so are their acks
            await asyncio.wrap_future(Archive.of(self.crawler).remember([]))
            if self.local or self.outbox:
                return
            given_back = await asyncio.to_thread(self.frontier.idle)
            if given_back:
                self.stats.inc_value("frontier/given_back", given_back)
                logger.warning("%d requests ended here without an outcome the archive recorded: "
                               "given back to the job", given_back)
            while not self.local and not self.outbox:
                if await asyncio.to_thread(self.frontier.finished):
                    await self._job_over()
                    return
                entries = await asyncio.to_thread(self.frontier.lease, self.batch)
                if entries:
                    self._inject(entries)
                    return
                await asyncio.sleep(POLL_SECONDS)
        except FrontierUnavailable as error:
            logger.error("Could not ask the shared frontier whether the job is over (%s); asking "
                         "again", error)
        finally:
            self._checking = None

    def _inject(self, entries: list[bytes]) -> None:
        """Requests leased while the crawl idles: handed to the engine, which wakes for them."""
        self._read(entries)
        waiting, self.local = list(self.local), deque()
        for request in waiting:
            self._injecting = True
            try:
                self.crawler.engine.crawl(request)  # comes back through enqueue_request
            finally:
                self._injecting = False

    async def _job_over(self) -> None:
        self.job_over = True
        stats = await asyncio.to_thread(self.frontier.stats)
        self.stats.set_value("frontier/job_dropped", stats.dropped)
        logger.info("Job %s is over: %d requests pushed, %d leased, %d acknowledged, "
                    "%d requeued after their lease expired, %d set aside",
                    self.frontier.job_id, stats.pushed, stats.leased, stats.acked,
                    stats.requeued, stats.dropped)
        if self.crawler.engine is not None and self.crawler.engine.running:
            await self.crawler.engine.close_spider_async(reason="finished")
