"""The scheduler of a worker of a shared crawl job: requests go to the job's queue in Redis
and come back leased (storage.redisqueue.frontier); without FRONTIER_URL it is Scrapy's own.

Pushes are batched (one Redis round trip for many requests) and wait until the catalogue
holds their URLs (crawler.frontier.push_after). Leases are taken a few at a time and renewed
off the reactor every quarter of FRONTIER_LEASE while the worker lives. A leased request is
acknowledged once the archive has committed its outcome (crawler.archive.Settling: its page
done, its failure recorded, or its final answer archived), and only after every request
queued before that outcome was pushed: a page is never acknowledged while the links it led
to are still in this worker's hands alone. A request for a URL this worker holds (a retry)
stays here: its lease is this worker's.

When the worker has nothing left, it waits for its archive to commit what it was handed,
gives back any lease its requests ended without an outcome (each such return counts a try),
and looks every POLL_SECONDS for the job's end (queue empty, no lease outstanding, no worker
busy) or for work: what other workers push, or what a dead worker's expired leases give back.
When it stops early (a signal, a limit), what it holds goes back to the job once its archive
has committed, a try counted only for what it had sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.core.scheduler import BaseScheduler, Scheduler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread

from crawler.archive import Archive
from crawler.config import setting
from crawler.exitcodes import Unusable
from crawler.frontier import frontier_of, remembered, remembering
from crawler.frontier.codec import entry_of, request_of
from crawler.frontier.spilling import scheduler_of
from crawler.signals import wake
from storage.redisqueue.frontier import FrontierUnavailable, JobOver, SharedFrontier, fingerprint

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from crawler.archiveprocess import ArchiveProcess

logger = logging.getLogger(__name__)

PUSH_BATCH = 200  # requests queued locally before one push
POLL_SECONDS = 0.5  # how often an idle worker looks for work or the job's end


class FrontierScheduler(BaseScheduler):
    def __init__(self, crawler: Crawler, frontier: SharedFrontier, archive: Archive | ArchiveProcess):
        self.crawler = crawler
        self.frontier = frontier
        self.archive = archive
        self.stats = crawler.stats
        self.batch = max(1, setting(crawler.settings, "FRONTIER_LEASE_BATCH", int))
        self.spider: Spider | None = None
        self.local: deque[Request] = deque()  # leased, not yet handed to the engine
        self.outbox: list[Request] = []  # to push, once the catalogue holds their URLs
        self.mine: set[str] = set()  # URLs leased here whose outcome is not acknowledged yet
        self.settled: deque[str] = deque()  # outcomes committed, to acknowledge
        self.job_over = False
        self._acks_due = False
        self._checking: Any = None
        self._injecting = False  # set while leased requests are handed to the engine
        self._awaited: set[Future[Any]] = set()  # remembers that will wake the engine
        self._renewal = LoopingCall(self._renew)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self | Scheduler:  # type: ignore[override]
        frontier = frontier_of(crawler)
        if frontier is None:
            return scheduler_of(crawler)
        if not setting(crawler.settings, "WARC_ENABLED", bool):
            raise Unusable("FRONTIER_URL: a shared job acknowledges a request once its archive "
                           "has recorded it; set WARC_ENABLED=True, or unset FRONTIER_URL")
        return cls(crawler, frontier, Archive.of(crawler))

    def open(self, spider: Spider) -> None:
        self.spider = spider
        assert self.frontier.job_id is not None, "joined at start-up (crawler.extensions.runlock)"
        self.archive.settled = self._outcome_committed
        self.stats.set_value("frontier/job", self.frontier.job_id)
        self._renewal.start(self.frontier.lease_ms / 4000, now=False)
        logger.info("Worker %s of job %s of site %r (shared frontier)", self.frontier.worker,
                    self.frontier.job_id, self.frontier.site)

    def close(self, reason: str) -> Deferred[None]:
        if self._renewal.running:
            self._renewal.stop()
        return deferred_from_coro(self._hand_back())

    async def _hand_back(self) -> None:
        """What this worker holds goes back to the job, once its archive has committed what it
        was handed (those are acknowledged, not fetched again)."""
        await self._archive_caught_up()
        try:
            self._acknowledge()
            self._flush(everything=True)
            unsent = [fingerprint(request.url) for request in self.local]
            given_back = self.frontier.idle(unsent)
        except FrontierUnavailable as error:
            logger.error("Could not hand back this worker's requests (%s); their leases expire "
                         "and other workers take them", error)
            return
        if given_back:
            logger.info("Gave back %d requests this worker had not finished", given_back)

    async def _archive_caught_up(self) -> None:
        """Queued after every write handed over so far: once it commits, so have they (and
        their outcomes are noted for acknowledgement)."""
        try:
            await asyncio.wrap_future(self.archive.remember([]))
        except Exception as error:  # a dead archive: nothing more commits
            logger.warning("The archive did not commit (%s): this worker's leases go back", error)

    def has_pending_requests(self) -> bool:
        return bool(self.local or self.outbox)

    def enqueue_request(self, request: Request) -> bool:
        if self._injecting or (request.dont_filter and request.url in self.mine):  # leased; a retry
            self.local.append(request)
            if not self._injecting:
                self.stats.inc_value("frontier/kept_local")
            return True
        self.outbox.append(request)
        self._wake_when_remembered(request)
        if len(self.outbox) >= PUSH_BATCH:
            self._try(self._flush)
        return True

    def _wake_when_remembered(self, request: Request) -> None:
        """The engine asks for a request when a download ends, else only on its 5 s
        heartbeat: one that waits for its remember alone (a worker's first requests) wakes
        it once that write commits. One callback per write, however many requests wait on it."""
        future = remembering(request)
        if future is not None and future not in self._awaited:
            self._awaited.add(future)
            future.add_done_callback(self._remembered)

    def _remembered(self, future: Future[Any]) -> None:
        """On the thread resolving the archive's writes."""
        from twisted.internet import reactor

        self._awaited.discard(future)
        reactor.callFromThread(wake, self.crawler.engine)

    def next_request(self) -> Request | None:
        self._try(self._flush)
        if not self.local:
            self._try(self._lease)
        if not self.local:
            return None
        return self.local.popleft()

    def _try(self, step: Any) -> None:
        """A Redis failure leaves the requests where they are, for the next try; the crawl goes
        on with what this worker holds."""
        try:
            step()
        except FrontierUnavailable as error:
            self.stats.inc_value("frontier/redis_errors")
            logger.error("The shared frontier failed (%s); trying again", error)

    def _flush(self, everything: bool = False) -> None:
        """Push what the catalogue holds already (everything: all, at the end); what a push
        failed to queue stays in the outbox."""
        if not self.outbox:
            return
        ready: list[Request] = []
        waiting: list[Request] = []
        for request in self.outbox:  # one pass: a remember may commit meanwhile
            (ready if everything or remembered(request) else waiting).append(request)
        if not ready:
            return
        assert self.spider is not None
        entries = [(request.priority, entry_of(request, self.spider)) for request in ready]
        try:
            new = self.frontier.push(entries)
        except JobOver:
            self.outbox = waiting
            self.stats.inc_value("frontier/after_job_end", len(ready))
            logger.warning("%d requests came after the job ended: they stay pending in the "
                           "catalogue for the next run", len(ready))
            return
        self.outbox = waiting
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
            self.mine.add(request.url)
            self.local.append(request)
            self.stats.inc_value("frontier/leased")

    def _renew(self) -> Any:
        return deferToThread(self.frontier.renew).addErrback(self._renewal_failed)

    def _renewal_failed(self, failure: Failure) -> None:
        self.stats.inc_value("frontier/renewal_errors")
        logger.warning("Could not renew this worker's leases (will try again): %s", failure.value)

    # ---- acknowledgements ------------------------------------------------------------------

    def _outcome_committed(self, url: str) -> None:
        """Called by the archive, on the thread resolving its writes, once an outcome of `url`
        is committed: noted at once (a write resolved before the archive's catch-up point is
        noted before the catch-up is), acknowledged soon on the reactor."""
        self.settled.append(url)  # a deque: appending is thread-safe
        if not self._acks_due:
            self._acks_due = True
            from twisted.internet import reactor
            reactor.callFromThread(self._try, self._acknowledge)

    def _acknowledge(self) -> None:
        """Push first (the links of a settled page were remembered before its done mark
        committed), then end the leases of the settled URLs, whoever holds them."""
        self._acks_due = False
        urls: set[str] = set()
        while self.settled:
            urls.add(self.settled.popleft())
        if not urls:
            return
        try:
            self._flush()
            self.frontier.acknowledge([fingerprint(url) for url in urls])
        except FrontierUnavailable:
            self.settled.extend(urls)  # the next acknowledgement tries them again
            raise
        self.mine -= urls
        wake(self.crawler.engine)  # what was pushed can be leased now, not on the heartbeat

    # ---- the end of the job ---------------------------------------------------------------

    def spider_idle(self, spider: Spider) -> None:
        """Nothing left here: the crawl stays open until the job is over."""
        if self.job_over:
            return
        if self._checking is None:
            self._checking = deferred_from_coro(self._check_job())
        raise DontCloseSpider

    async def _check_job(self) -> None:
        try:
            await self._wait_for_work()
        except FrontierUnavailable as error:
            logger.error("Could not ask the shared frontier whether the job is over (%s); asking "
                         "again", error)
            return  # on the engine's heartbeat
        finally:
            self._checking = None
        if not self.job_over:
            wake(self.crawler.engine)  # to its work now, not on its heartbeat

    async def _wait_for_work(self) -> None:
        """Once the archive has committed what this worker was handed: give back what it holds
        without an outcome, then wait for the job's end or for work (pushed by others, or
        given back by a dead worker's expired leases), looking every POLL_SECONDS."""
        await self._archive_caught_up()
        self._acknowledge()
        if self.local or self.outbox:
            return
        given_back = await asyncio.to_thread(self.frontier.idle)
        self.mine.clear()
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
