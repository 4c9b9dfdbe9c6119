"""ExtractPipeline: turns archived article pages into text files and `documents` rows.

Extraction (lxml + trafilatura, CPU-bound) runs in a pool of worker processes
(`crawler.extraction.workers`) and the results are filed by the archive's writer thread
(through the one filer, `storage.catalogue.filing`), so the reactor only hands work over.
A page the archive stored as a revisit (the payload of its URL's last capture) is not
extracted again: its text is filed already. A failed extraction is recorded with its
reason and the page counts as done; the crawl goes on. A worker that dies, or is killed for running past
EXTRACT_TIMEOUT, is replaced and its page retried once, alone; a page that kills a worker
again is recorded as `worker_crashed`, one that runs past the timeout again as `timeout`.

Settings: EXTRACT_WORKERS (0 = one per core), EXTRACT_MAX_BYTES, EXTRACT_TIMEOUT (s, 0 = none),
EXTRACT_NICENESS (workers run at a lower CPU priority than the reactor they serve).
Stats: extract/ok, extract/failed/<reason>, extract/skipped/unchanged, extract/file_errors,
extract/worker_restarts, extract/timeouts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING, Any, Self

from scrapy.exceptions import NotConfigured

from crawler.archive import Archive
from crawler.config import setting
from crawler.exitcodes import Unusable
from crawler.extraction.article import EXTRACTOR_MODULES
from crawler.extraction.inworker import Page, extract_page, failed_page, start_worker
from crawler.extraction.workers import DEFAULT_TIMEOUT, WorkerPool
from crawler.items import ArticlePage, ExtractedArticle
from storage.catalogue.filing import Filed
from storage.catalogue.models import Document
from storage.catalogue.repository import payload_capture_of_record
from storage.catalogue.values import fit_values
from storage.exports.records import Pointer, article_record

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.captures import Archived
    from crawler.extraction.article import Extraction

logger = logging.getLogger(__name__)


def _text_filed_already(archived: Archived) -> bool:
    """A revisit's payload was extracted when its original capture was finished."""
    return archived.warc_type == "revisit" and not archived.after_unfinished


class ExtractPipeline:
    def __init__(self, crawler: Crawler, archive: Archive, workers: int, max_bytes: int,
                 timeout: float = DEFAULT_TIMEOUT, niceness: int = 0):
        self.crawler = crawler
        self.archive = archive
        self.workers = workers
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.niceness = niceness
        self.pool: WorkerPool[Page, Extraction] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "WARC_ENABLED", bool):
            raise NotConfigured("extraction files each text against its WARC capture: "
                                "set WARC_ENABLED=True, or ITEM_PIPELINES={} to crawl only")
        workers = setting(crawler.settings, "EXTRACT_WORKERS", int) or os.cpu_count() or 1
        niceness = setting(crawler.settings, "EXTRACT_NICENESS", int)
        if niceness < 0:  # raising a process's priority takes privileges a crawl should not have
            raise Unusable(f"EXTRACT_NICENESS={niceness}: give 0 (the crawl's priority) or more")
        return cls(crawler, Archive.of(crawler), workers,
                   setting(crawler.settings, "EXTRACT_MAX_BYTES", int),
                   setting(crawler.settings, "EXTRACT_TIMEOUT", float), niceness)

    def _start_pool(self) -> WorkerPool[Page, Extraction]:
        hints = self.crawler.spider.site.extract  # type: ignore[union-attr]
        stats = self.crawler.stats
        return WorkerPool(extract_page, failed_page, self.workers, timeout=self.timeout,
                          initializer=start_worker, initargs=(hints, self.max_bytes, self.niceness),
                          preload=["crawler.extraction.inworker", *EXTRACTOR_MODULES],
                          on_event=lambda event: stats.inc_value(f"extract/{event}"))

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        capture = item.capture
        if capture is not None and not item.extract_unchanged and \
                _text_filed_already(await capture.archived):
            self.crawler.stats.inc_value("extract/skipped/unchanged")  # its text is filed already
            self.archive.mark_done(item.url)
            return ExtractedArticle(item.url)
        extraction = await self._extract(item)
        try:
            if capture is None:
                raise LookupError(f"{item.url} was not archived (WARC_ENABLED is off)")
            filed = await asyncio.wrap_future(self.archive.file_extraction(
                item.url, capture.record_id, item.fetched_at, extraction))
        except Exception:  # the page is safe in the WARC, and left unfinished: the next run
            self.crawler.stats.inc_value("extract/file_errors")  # extracts it again
            logger.error("Could not file the text of %s", item.url, exc_info=True)
            return ExtractedArticle(item.url, failure="file_error")
        self.archive.mark_done(item.url)  # a failure is recorded too: it does not block later runs
        stats = self.crawler.stats
        if filed.failure:
            stats.inc_value(f"extract/failed/{filed.failure}")
            assert extraction.failure is not None
            logger.warning("Extraction failed (%s) for %s: %s",
                           filed.failure, item.url, extraction.failure.detail)
        else:
            stats.inc_value("extract/ok")
        return await self._extracted(item, extraction, filed)

    async def _extracted(self, item: ArticlePage, extraction: Extraction, filed: Filed) -> ExtractedArticle:
        """The item: `scrapy export`'s record of this capture's text, field for field."""
        assert item.capture is not None
        archived = await item.capture.archived
        pointer = Pointer(archived.pointer.warc_file, archived.pointer.offset, archived.pointer.length,
                          archived.pointer.record_id)
        payload: Pointer | None = pointer
        if archived.warc_type == "revisit":  # its record holds headers only: the original's
            payload = await asyncio.to_thread(self._payload_pointer, pointer.record_id)
        article = extraction.article
        # the values as the catalogue holds them (NUL removed, cut to their column)
        values = fit_values(Document, {"title": article.title, **article.document_fields(
            item.fetched_at)})[0] if article else {}
        record = article_record(
            url=item.url, title=values.get("title"), text=article.text if article else None,
            text_path=filed.text_path, extractor_version=extraction.version,
            fetched_at=item.fetched_at, pointer=pointer, payload=payload, fields=values)
        return ExtractedArticle(**record, failure=filed.failure)

    def _payload_pointer(self, record_id: str) -> Pointer | None:
        with self.archive.sessions() as session:  # committed: the text's filing was
            capture = payload_capture_of_record(session, record_id)
            if capture is None:
                return None
            return Pointer.of(capture)

    async def _extract(self, page: ArticlePage) -> Extraction:
        if self.pool is None:
            self.pool = self._start_pool()
        [extraction] = await asyncio.wrap_future(self.pool.submit([(page.body, page.content_type, page.url)]))
        return extraction

    def close_spider(self) -> None:
        if self.pool is not None:  # every page has its result by now: no worker is waited on
            self.pool.shutdown()
