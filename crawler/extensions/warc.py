"""WarcExporter: archives every HTTP exchange of a crawl and catalogues it.

Listens to `response_downloaded`, which Scrapy sends for every response (robots.txt,
sitemaps, redirects, 404s and 500s included) before any middleware decompresses it,
so the WARC keeps the body exactly as the server sent it. Each exchange is handed to
the archive's writer thread (crawler.archive) at once; what became of it is a
`PendingCapture`, which the spider asks for with `capture_of(crawler, response)` (a weak
map by request: nothing is written into `request.meta`).

Settings: WARC_ENABLED (default True), WARC_DIR, WARC_MAX_SIZE, WARC_PREFIX,
DATABASE_URL, EXTRACT_TEXT_DIR. Stats: warc/records_written, warc/response_records,
warc/revisit_records, warc/blocked_responses, warc/bytes_payload, warc/write_errors,
catalogue/captures, recrawl/articles/<outcome>, archive/close_errors.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Self
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.archive import Archive
from crawler.captures import UNKNOWN, Archived, PendingCapture
from crawler.config import setting
from crawler.exitcodes import Unusable
from crawler.signals import archive_closed
from storage.catalogue.frontier import Discovered
from storage.warc.exchange import HttpExchange, new_record_id

if TYPE_CHECKING:

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.http.headers import Headers


logger = logging.getLogger(__name__)


def capture_of(crawler: Crawler, response: Response) -> PendingCapture | None:
    """How `response` went into the archive; None when archiving is off."""
    exporter = crawler.get_extension(WarcExporter)
    return exporter.capture_of(response) if exporter is not None else None


class WarcExporter:
    def __init__(self, crawler: Crawler, archive: Archive):
        self.crawler = crawler
        self.archive = archive
        self.pending: set[asyncio.Future[Archived]] = set()
        # the capture of each request downloaded, for as long as Scrapy holds the request
        self._captures: WeakKeyDictionary[Request, PendingCapture] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "WARC_ENABLED", bool):
            raise NotConfigured("WARC archiving is off: set WARC_ENABLED=True to archive")
        exporter = cls(crawler, Archive.of(crawler))
        crawler.signals.connect(exporter.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(exporter.spider_closed, signal=signals.spider_closed)
        return exporter

    def capture_of(self, response: Response) -> PendingCapture | None:
        """The capture of the request that brought `response` (None if it was not downloaded,
        e.g. made up by a middleware)."""
        request = response.request
        return self._captures.get(request) if request is not None else None

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        record_id = new_record_id()
        fetched_at = datetime.now(UTC)
        exchange = exchange_of(request, response, fetched_at)
        kind = request.meta.get("kind")
        if request.meta.get("redirect_urls") and kind in ("article", "photo"):
            # a redirect's target was never put in the frontier by the spider: do it now, so
            # a run dying before its text is filed leaves it pending for the next run
            self.archive.remember([Discovered(request.url, kind="photo" if kind == "photo" else None)])
        # the URL's last capture as the spider looked it up (not for a redirect's target)
        previous = UNKNOWN if request.meta.get("redirect_urls") or \
            "last_capture" not in request.meta else request.meta["last_capture"]
        future = asyncio.wrap_future(self.archive.archive_exchange(
            exchange, record_id, request.meta.get("lastmod"), request.meta.get("kind"), previous))
        self._captures[request] = PendingCapture(record_id, fetched_at, future)
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
        """Commit what is queued and close the WARC file, then send `archive_closed` (the
        run's end is recorded then). A failure to close is counted (`archive/close_errors`),
        so that the exit status says the archive was not completed even though the close
        reason was given before."""
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        try:
            await asyncio.wrap_future(self.archive.close())
        except Exception as error:
            self.crawler.stats.inc_value("archive/close_errors")
            logger.error("Could not close the archive (run %s): %s", self.archive.run_id, error,
                         exc_info=not isinstance(error, Unusable))  # Unusable: it said why
        await self.crawler.signals.send_catch_log_async(signal=archive_closed, reason=reason)


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

