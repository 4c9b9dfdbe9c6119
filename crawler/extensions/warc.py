"""WarcExporter: archives every HTTP exchange of a crawl and catalogues it.

Listens to `response_downloaded`, which Scrapy sends for every response (robots.txt,
sitemaps, redirects, 404s and 500s included) before any middleware decompresses it,
so the WARC keeps the body exactly as the server sent it.

Settings: WARC_ENABLED (default True), WARC_DIR, WARC_MAX_SIZE, WARC_PREFIX,
DATABASE_URL, TEXT_DIR. Stats: warc/records_written, warc/bytes_payload,
warc/write_errors, catalogue/captures.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread

from crawler.archive import UNKNOWN, Archive, Archived
from crawler.extensions.runlock import RunLock, SiteLocked
from storage.catalogue.frontier import Discovered
from storage.catalogue.runs import COUNTS
from storage.warc.exchange import HttpExchange

if TYPE_CHECKING:

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.http.headers import Headers
    from twisted.internet.defer import Deferred


logger = logging.getLogger(__name__)


class WarcExporter:
    def __init__(self, crawler: Crawler, archive: Archive):
        self.crawler = crawler
        self.archive = archive
        self.pending: set[asyncio.Future[Archived]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC archiving is off: set WARC_ENABLED=True to archive")
        exporter = cls(crawler, Archive.of(crawler))
        exporter.start_run()  # before any request: a locked site must not be fetched at all
        crawler.signals.connect(exporter.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(exporter.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(exporter.spider_closed, signal=signals.spider_closed)
        return exporter

    def start_run(self) -> None:
        """The run's catalogue row and the site's lock (a site is its profile's name)."""
        spider_name = self.crawler.spidercls.name
        run_id = self.archive.start_run(spider_name, spider_name)
        settings = self.crawler.settings
        self.lock = RunLock(self.archive.sessions, spider_name, run_id,
                            timedelta(seconds=settings.getfloat("RUN_LOCK_STALE_AFTER")))
        try:
            self.lock.acquire()
        except SiteLocked:
            self.archive.finish_run("locked", {})
            raise
        try:
            self.archive.recover(self.lock.taken_over)
        except Exception:  # the run never started: say so, and free the site for the next
            self.archive.finish_run("start_error", {})
            self.lock.release()
            raise
        self.heartbeat = LoopingCall(self._beat)

    def spider_opened(self, spider: Spider) -> None:
        run_id = self.archive.run_id
        self.crawler.stats.set_value("catalogue/crawl_run_id", run_id)
        if self.lock.taken_over is not None:
            self.crawler.stats.set_value("runlock/taken_over_from_run", self.lock.taken_over.run_id)
        self.heartbeat.start(self.crawler.settings.getfloat("RUN_LOCK_HEARTBEAT"), now=False)
        logger.info("Crawl run %d: archiving to %s", run_id, self.archive.writer.directory)

    def _beat(self) -> Deferred[None]:
        """Renew the lock off the reactor; a failed beat is retried at the next tick (a
        LoopingCall stops for good on an error), a lost lock stops the crawl."""
        return deferToThread(self.lock.beat).addCallbacks(self._beaten, self._beat_failed)

    def _beaten(self, held: bool) -> None:
        if held:
            return
        logger.error("Run %s lost the lock of its site to another run: stopping",
                     self.archive.run_id)
        self.crawler.stats.set_value("runlock/lost", True)
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="lock_lost"))

    def _beat_failed(self, failure: Any) -> None:
        self.crawler.stats.inc_value("runlock/heartbeat_errors")
        logger.warning("Could not renew the run lock (will try again): %s", failure.value)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        fetched_at = datetime.now(UTC)
        # The spider's callbacks find these on response.meta.
        request.meta["warc_record_id"] = record_id
        request.meta["fetched_at"] = fetched_at
        exchange = exchange_of(request, response, fetched_at)
        if request.meta.get("redirect_urls") and request.meta.get("kind") == "article":
            # a redirect's target was never put in the frontier by the spider: do it now, so
            # a run dying before its text is filed leaves it pending for the next run
            self.archive.remember([Discovered(request.url)])
        # the URL's last capture as the spider looked it up (not for a redirect's target)
        previous = UNKNOWN if request.meta.get("redirect_urls") or \
            "last_capture" not in request.meta else request.meta["last_capture"]
        future = asyncio.wrap_future(self.archive.archive_exchange(
            exchange, record_id, request.meta.get("lastmod"), request.meta.get("kind"), previous))
        request.meta["archived"] = future  # the pipeline does not extract a revisit again
        self._track(future, exchange)

    def _track(self, future: asyncio.Future[Archived], exchange: HttpExchange) -> None:
        self.pending.add(future)
        future.add_done_callback(lambda done: self._written(done, exchange))

    def _written(self, future: asyncio.Future[Archived], exchange: HttpExchange) -> None:
        self.pending.discard(future)
        stats = self.crawler.stats
        if future.exception() is None:
            archived = future.result()
            stats.inc_value("warc/records_written", 2)  # response (or revisit) + request
            stats.inc_value(f"warc/{archived.warc_type}_records")
            if archived.blocked:
                stats.inc_value("warc/blocked_responses")
            stats.inc_value("warc/bytes_payload", len(exchange.response_body))
            stats.inc_value("catalogue/captures")
            if archived.outcome:
                stats.inc_value(f"recrawl/articles/{archived.outcome}")
            return
        # The archive is the point of the crawl: stop rather than fetch what cannot be kept.
        stats.inc_value("warc/write_errors")
        logger.error("Could not archive %s; stopping the crawl", exchange.url,
                     exc_info=future.exception())
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_error"))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """Commit what is queued, close the WARC file, record the run's end and free the
        site. A failure here is counted (`archive/close_errors`), so that the exit status
        says the archive was not completed even though the close reason was given before."""
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        try:
            await asyncio.wrap_future(self.archive.close())
        except Exception:
            self._close_failed("Could not close the WARC file")
        if self.heartbeat.running:
            self.heartbeat.stop()
        stats = self.crawler.stats.get_stats()
        counts = {name: stats.get(f"recrawl/articles/{name}", 0) for name in COUNTS}
        counts["failed"] += sum(n for key, n in stats.items() if key.startswith("extract/failed/"))
        try:
            self.archive.finish_run(reason, json_stats(stats), counts)
            self.lock.release()
        except Exception:
            self._close_failed("Could not record the end of the run in the catalogue")
        logger.info("Crawl run %s closed: %s", self.archive.run_id, reason)

    def _close_failed(self, what: str) -> None:
        self.crawler.stats.inc_value("archive/close_errors")
        logger.error("%s (run %s)", what, self.archive.run_id, exc_info=True)


def exchange_of(request: Request, response: Response, fetched_at: datetime) -> HttpExchange:
    return HttpExchange(
        url=response.url,
        method=request.method,
        request_headers=header_pairs(request.headers),
        request_body=request.body,
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        response_headers=header_pairs(response.headers),
        response_body=response.body,
        fetched_at=fetched_at,
        ip_address=str(response.ip_address) if response.ip_address else None,
    )


def header_pairs(headers: Headers) -> list[tuple[str, str]]:
    """Scrapy headers to (name, value) pairs, repeated headers (Set-Cookie) kept apart."""
    return [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, values in headers.items()
        for value in values
    ]


def json_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in stats.items()}
