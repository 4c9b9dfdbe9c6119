"""The single writer of WARC records, catalogue rows and text files for one crawl.

Every write goes through one worker thread, in submission order. That keeps WARC
offsets sequential, guarantees a capture row exists before any document that names
it, and keeps gzip, disk and database work off the reactor thread. The WARC record is
flushed before its catalogue row commits, so every row points at a complete record.
"""

from __future__ import annotations

import logging
import os
import socket
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session, sessionmaker

from storage import repository
from storage.db import open_catalogue
from storage.repository import NewCapture
from storage.textfiles import write_text_file
from storage.warc import HttpExchange, WarcPointer, WarcWriter

if TYPE_CHECKING:
    from datetime import datetime

    from scrapy.crawler import Crawler

    from crawler.extract import Extraction
    from crawler.items import ArticlePage

logger = logging.getLogger(__name__)


class ArchiveUnavailable(RuntimeError):
    """The archive cannot be written: the crawl must not start (NotConfigured would let it
    run without archiving, fetching pages that are then lost)."""


@dataclass(frozen=True, slots=True)
class Filed:
    """Where an extraction went: its text file, or the reason it failed."""

    text_path: str | None
    failure: str | None


class Archive:
    _per_crawler: WeakKeyDictionary[Crawler, Archive] = WeakKeyDictionary()

    def __init__(self, writer: WarcWriter, sessions: sessionmaker[Session], text_dir: Path):
        self.writer = writer
        self.sessions = sessions
        self.text_dir = text_dir
        self.run_id: int | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive")

    @classmethod
    def of(cls, crawler: Crawler) -> Archive:
        """The crawl's one Archive, shared by the WARC extension and the extraction pipeline."""
        if crawler not in cls._per_crawler:
            cls._per_crawler[crawler] = cls.from_settings(crawler.settings)
        return cls._per_crawler[crawler]

    @classmethod
    def from_settings(cls, settings: Any) -> Archive:
        for name in ("WARC_DIR", "TEXT_DIR"):
            try:
                Path(settings[name]).mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"{name}={settings[name]} cannot be used ({error.strerror}): "
                    f"set DATA_DIR or -s {name}=... to a writable folder"
                ) from error
        writer = WarcWriter(
            Path(settings["WARC_DIR"]),
            prefix=settings.get("WARC_PREFIX", "vnarchive"),
            max_size=settings.getint("WARC_MAX_SIZE"),
            software=settings.get("USER_AGENT", "vnarchive").split(" ")[0],
            operator_info={
                "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
                "http-header-user-agent": settings.get("USER_AGENT", ""),
            },
        )
        return cls(writer, open_catalogue(settings["DATABASE_URL"]), Path(settings["TEXT_DIR"]))

    # ---- crawl runs (once per crawl: on the caller's thread, before and after the writes) --

    def start_run(self, spider: str, site: str) -> int:
        with self.sessions.begin() as session:
            run = repository.start_run(
                session, spider=spider, site=site, hostname=socket.gethostname(), pid=os.getpid()
            )
            self.run_id = run.id
        return run.id

    def finish_run(self, status: str, stats: dict[str, Any]) -> None:
        if self.run_id is None:
            return
        with self.sessions.begin() as session:
            repository.finish_run(session, self.run_id, status=status, stats=stats)

    # ---- queued writes -------------------------------------------------------------------

    def archive_exchange(
        self, exchange: HttpExchange, record_id: str, source_lastmod: datetime | None
    ) -> Future[WarcPointer]:
        return self._thread.submit(self._archive_exchange, exchange, record_id, source_lastmod)

    def file_extraction(self, page: ArticlePage, extraction: Extraction) -> Future[Filed]:
        return self._thread.submit(self._file_extraction, page, extraction)

    def close(self) -> Future[None]:
        """Finish every queued write, then close the WARC file (renaming it from .open)."""
        future = self._thread.submit(self.writer.close)
        self._thread.shutdown(wait=False)
        return future

    # ---- on the archive thread -----------------------------------------------------------

    def _archive_exchange(
        self, exchange: HttpExchange, record_id: str, source_lastmod: datetime | None
    ) -> WarcPointer:
        pointer = self.writer.write_exchange(exchange, response_record_id=record_id)
        headers = {name.lower(): value for name, value in exchange.response_headers}
        with self.sessions.begin() as session:
            repository.add_capture(session, NewCapture(
                url=exchange.url,
                warc_type="response",
                status=exchange.status,
                fetched_at=exchange.fetched_at,
                content_type=headers.get("content-type"),
                payload_digest=pointer.payload_digest,
                payload_length=len(exchange.response_body),
                warc_file=pointer.warc_file,
                warc_offset=pointer.offset,
                warc_length=pointer.length,
                warc_record_id=pointer.record_id,
                ip_address=exchange.ip_address,
                etag=headers.get("etag"),
                last_modified=headers.get("last-modified"),
                source_lastmod=source_lastmod,
                crawl_run_id=self.run_id,
            ))
        return pointer

    def _file_extraction(self, page: ArticlePage, extraction: Extraction) -> Filed:
        with self.sessions.begin() as session:
            capture = repository.capture_by_record_id(session, page.warc_record_id)
            if capture is None:  # the exchange's write failed: that error was reported already
                raise LookupError(f"no capture {page.warc_record_id} for {page.url}")
            if extraction.failure is not None:
                repository.add_extraction_failure(
                    session, capture=capture, reason=extraction.failure.reason,
                    detail=extraction.failure.detail, extractor_version=extraction.version,
                )
                return Filed(None, extraction.failure.reason)
            article = extraction.article
            assert article is not None
            text_path = repository.article_for_url(session, page.url).text_path
            write_text_file(self.text_dir, text_path, article.text)
            repository.add_document(
                session, capture=capture, title=article.title,
                published_at=article.published_before(page.fetched_at),
                text_path=text_path, text=article.text, extractor_version=extraction.version,
            )
            return Filed(text_path, None)
