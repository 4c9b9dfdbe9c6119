"""ArchiveBackpressure: downloads wait while the archive is behind.

Every page fetched is held in memory until its WARC record and catalogue row are written
(crawler.archive). When the disk or the database is slower than the network, that backlog
would grow for as long as the crawl runs; instead, past ARCHIVE_BACKLOG_BYTES, a request
waits here, before it is sent, until the archive has caught up. The reactor never blocks:
the wait is a future, and the downloader's concurrency limit stops further requests.

Stats: archive/backpressure_waits (requests that had to wait).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from scrapy.exceptions import NotConfigured

from crawler.archive import Archive
from crawler.config import setting

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler


class ArchiveBackpressure:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.backlog = Archive.of(crawler).backlog

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "WARC_ENABLED", bool):
            raise NotConfigured("no archive to wait for")
        return cls(crawler)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if self.backlog.full:
            self.crawler.stats.inc_value("archive/backpressure_waits")
            await self.backlog.room()
