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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from crawler.archive import Archive
from storage.warc import HttpExchange

if TYPE_CHECKING:

    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response
    from scrapy.http.headers import Headers

    from storage.warc import WarcPointer

logger = logging.getLogger(__name__)


class WarcExporter:
    def __init__(self, crawler: Crawler, archive: Archive):
        self.crawler = crawler
        self.archive = archive
        self.pending: set[asyncio.Future[WarcPointer]] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("WARC_ENABLED", True):
            raise NotConfigured("WARC archiving is off: set WARC_ENABLED=True to archive")
        exporter = cls(crawler, Archive.of(crawler))
        crawler.signals.connect(exporter.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(exporter.response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(exporter.spider_closed, signal=signals.spider_closed)
        return exporter

    def spider_opened(self, spider: Spider) -> None:
        site = getattr(getattr(spider, "site", None), "name", spider.name)
        run_id = self.archive.start_run(spider.name, site)
        self.crawler.stats.set_value("catalogue/crawl_run_id", run_id)
        logger.info("Crawl run %d: archiving to %s", run_id, self.archive.writer.directory)

    def response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        record_id = f"<urn:uuid:{uuid.uuid4()}>"
        fetched_at = datetime.now(UTC)
        # The spider's callbacks find these on response.meta.
        request.meta["warc_record_id"] = record_id
        request.meta["fetched_at"] = fetched_at
        exchange = exchange_of(request, response, fetched_at)
        future = self.archive.archive_exchange(exchange, record_id, request.meta.get("lastmod"))
        self._track(asyncio.wrap_future(future), exchange)

    def _track(self, future: asyncio.Future[WarcPointer], exchange: HttpExchange) -> None:
        self.pending.add(future)
        future.add_done_callback(lambda done: self._written(done, exchange))

    def _written(self, future: asyncio.Future[WarcPointer], exchange: HttpExchange) -> None:
        self.pending.discard(future)
        stats = self.crawler.stats
        if future.exception() is None:
            stats.inc_value("warc/records_written", 2)  # response + request
            stats.inc_value("warc/bytes_payload", len(exchange.response_body))
            stats.inc_value("catalogue/captures")
            return
        # The archive is the point of the crawl: stop rather than fetch what cannot be kept.
        stats.inc_value("warc/write_errors")
        logger.error("Could not archive %s; stopping the crawl", exchange.url,
                     exc_info=future.exception())
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="warc_write_error"))

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.pending:
            await asyncio.gather(*self.pending, return_exceptions=True)
        await asyncio.wrap_future(self.archive.close())
        self.archive.finish_run(reason, json_stats(self.crawler.stats.get_stats()))
        logger.info("Crawl run %s closed: %s", self.archive.run_id, reason)


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
