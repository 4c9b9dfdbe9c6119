"""Catalogue look-ups for the spider and the recrawl middleware, off the reactor thread.

Why a thread of its own: a query blocks, and the reactor must keep downloading while the
catalogue answers. Each look-up takes a whole batch of URLs: one query, not one per URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from scrapy import signals
from sqlalchemy.orm import Session, sessionmaker

from crawler.archive import Archive
from storage.catalogue import frontier
from storage.catalogue.frontier import CaptureState, Discovered, HeldBack

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class CatalogueReader:
    """Read-only queries on one site's crawl state, each run on the reader's own thread."""

    _per_crawler: WeakKeyDictionary[Crawler, CatalogueReader] = WeakKeyDictionary()

    def __init__(self, sessions: sessionmaker[Session], site: str):
        self.sessions = sessions
        self.site = site
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-reader")

    @classmethod
    def of(cls, crawler: Crawler) -> CatalogueReader:
        """The crawl's one reader, shared by the spider and the recrawl middleware."""
        if crawler not in cls._per_crawler:
            archive = Archive.of(crawler)
            reader = cls(archive.sessions, archive.site)
            crawler.signals.connect(reader.close, signal=signals.spider_closed)
            cls._per_crawler[crawler] = reader
        return cls._per_crawler[crawler]

    async def latest(self, urls: Iterable[str]) -> dict[str, CaptureState]:
        wanted = list(urls)
        if not wanted:  # no thread hop, no session for an empty batch
            return {}
        return await self._run(frontier.latest_captures, self.site, wanted)

    async def held_back(self) -> dict[str, HeldBack]:
        """Every URL of the site backing off or given up, now: read once per run (a short
        list), so deciding on a link costs no query of its own."""
        return await self._run(frontier.held_back, self.site, datetime.now(UTC))

    async def pending(self, before: datetime) -> list[Discovered]:
        return await self._run(frontier.pending, self.site, before)

    async def listed_in(self, sitemap_url: str) -> set[str]:
        return await self._run(frontier.listed_in, self.site, sitemap_url)

    async def _run(self, query: Any, *args: Any) -> Any:
        def work() -> Any:
            with self.sessions() as session:
                return query(session, *args)
        return await asyncio.wrap_future(self._thread.submit(work))

    def close(self) -> None:
        self._thread.shutdown(wait=False)
