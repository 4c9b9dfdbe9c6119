"""The single writer of WARC records, catalogue rows and text files for one crawl.

Every write goes through one thread, in submission order. That keeps WARC offsets
sequential, guarantees a capture row exists before any document that names it, and
keeps gzip, disk and database work off the reactor thread.

Catalogue rows are written in batches: one bulk INSERT and one commit when the queue
runs dry or a batch is full, instead of an ORM round trip per row, because the thread
shares the GIL with the reactor. Each WARC record is flushed to its file before the
batch naming it commits, so every catalogue row points at a complete record. A failed
batch fails every write in it (the crawl is then stopped by the caller): nothing is
dropped quietly.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.bounded import BoundedDict
from crawler.exitcodes import Unusable, opened
from crawler.extensions.runlock import pid_alive
from crawler.revisits import Stored, how_to_store
from storage.catalogue import frontier, repository, runs
from storage.catalogue.db import open_catalogue
from storage.catalogue.frontier import Backoff, CaptureState, Discovered, FetchFailure
from storage.catalogue.locks import LockHolder
from storage.catalogue.repository import NewCapture, NewDocument, NewFailure
from storage.dates import utc_now
from storage.repair import Repaired, abandoned, repair, uncatalogued, writer_pid
from storage.textfiles import text_sha1_of, write_text_file
from storage.warc.exchange import HttpExchange, WarcPointer, warc_digest
from storage.warc.writer import WarcWriter

if TYPE_CHECKING:
    from datetime import datetime

    from scrapy.crawler import Crawler

    from crawler.challenges import Blocking
    from crawler.extraction.article import Extraction
    from crawler.items import ArticlePage

logger = logging.getLogger(__name__)

BATCH_SIZE = 200  # rows per commit at most; a batch is also committed whenever the queue is empty
RECENT_CAPTURES = 20_000


class ArchiveUnavailable(Unusable):
    """The archive cannot be written: the crawl must not start (NotConfigured would let it
    run without archiving, fetching pages that are then lost)."""


@dataclass(frozen=True, slots=True)
class Filed:
    """Where an extraction went: its text file, or the reason it failed."""

    text_path: str | None
    failure: str | None


@dataclass(frozen=True, slots=True)
class Archived:
    """Where an exchange went and what it meant: a revisit is not extracted again."""

    pointer: WarcPointer
    warc_type: str  # response or revisit
    outcome: str | None  # for articles: new, changed, unchanged, not_modified, gone, failed
    blocked: str | None = None  # why the response is not the page (a bot challenge)


@dataclass(frozen=True, slots=True)
class _Extracted:
    """An extraction waiting for the batch's commit, where its rows are built."""

    page: ArticlePage
    extraction: Extraction


@dataclass
class _Batch:
    """What the next commit writes, and the futures that wait on it."""

    captures: list[NewCapture] = field(default_factory=list)
    extracted: list[_Extracted] = field(default_factory=list)
    discovered: list[Discovered] = field(default_factory=list)
    # what sitemaps list now: applied after `discovered`, whose rows it may update
    relisted: list[tuple[list[tuple[str, datetime | None]], str]] = field(default_factory=list)
    processed: list[str] = field(default_factory=list)
    failed: list[FetchFailure] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    waiting: list[tuple[Future[Any], Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.captures) + len(self.extracted) + len(self.discovered) + \
            len(self.processed) + len(self.failed)

    def has_capture(self, record_id: str) -> bool:
        return any(capture.warc_record_id == record_id for capture in self.captures)


_STOP = object()
UNKNOWN: Any = object()  # "the caller did not look the URL's last capture up"


class Archive:
    _per_crawler: WeakKeyDictionary[Crawler, Archive] = WeakKeyDictionary()

    def __init__(self, writer: WarcWriter, sessions: sessionmaker[Session], text_dir: Path,
                 backoff: Backoff | None = None):
        self.writer = writer
        self.backoff = backoff or Backoff()
        self.sessions = sessions
        self.text_dir = text_dir
        self.run_id: int | None = None
        # WARC record id -> capture id of the latest captures: an extraction comes back soon
        # after its capture, so the lookup rarely reaches the database.
        self.recent: BoundedDict[str, int] = BoundedDict(RECENT_CAPTURES)
        # URL -> its latest capture, written by this process lately (maybe not committed yet)
        self.latest: BoundedDict[str, CaptureState] = BoundedDict(RECENT_CAPTURES)
        self.site = ""
        self.blocking: Blocking | None = None  # the site's challenge markers, set by the spider
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="archive", daemon=True)
        self._thread.start()

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
        backoff = Backoff(first=timedelta(seconds=settings.getfloat("RECRAWL_BACKOFF", 1800)),
                          give_up_after=settings.getint("RECRAWL_GIVE_UP_AFTER", 5))
        sessions = opened(lambda: open_catalogue(settings["DATABASE_URL"]), settings["DATABASE_URL"])
        return cls(writer, sessions, Path(settings["TEXT_DIR"]), backoff)

    # ---- crawl runs (once per crawl, on the caller's thread, before and after the writes) --

    def start_run(self, spider: str, site: str) -> int:
        with self.sessions.begin() as session:
            run = runs.start_run(
                session, spider=spider, site=site, hostname=socket.gethostname(), pid=os.getpid()
            )
            self.run_id = run.id
        self.site = site
        return run.id

    def recover(self, dead: LockHolder | None) -> list[Repaired]:
        """Repair the WARC files dead crawlers of this host left open, catalogue the records
        they hold that never reached the catalogue, and mark the dead run as killed."""
        hostname = socket.gethostname()
        repaired = []
        for path in abandoned(self.writer.directory, hostname, pid_alive):
            # its records belong to the dead run only if that run's process wrote the file
            run_id = dead.run_id if dead is not None and dead.hostname == hostname and \
                dead.pid == writer_pid(path) else None
            try:
                fixed = repair(path, partial(self._catalogue_repaired, run_id=run_id))
            except (OSError, SQLAlchemyError, ValueError):  # one file never stops the run
                logger.error("Could not repair %s; it stays .open for the next run",
                             path.name, exc_info=True)
                continue
            if fixed is None:
                continue  # another crawler is repairing it
            logger.warning("Repaired %s left open by a dead crawler: %d records kept, %d bytes "
                           "of a cut record removed", fixed.path.name, fixed.records, fixed.cut_bytes)
            repaired.append(fixed)
        if dead is not None:
            with self.sessions.begin() as session:
                runs.mark_run_killed(session, dead.run_id)
        return repaired

    def _catalogue_repaired(self, open_path: Path, name: str, run_id: int | None) -> None:
        """Catalogue the records of a repaired file the catalogue lacks (written, then the
        crawler died before their batch committed), before the file takes its final name."""
        with self.sessions.begin() as session:
            missing = uncatalogued(open_path, name,
                                   lambda ids: repository.known_record_ids(session, ids), run_id)
            refused = self._insert_captures(session, missing, salvage=True)
        for capture, reason in refused:  # its record stays in the file, readable by offset
            logger.error("Could not catalogue the record %s of %s (%s) at offset %d: %s",
                         capture.warc_record_id, name, capture.url[:200], capture.warc_offset,
                         reason)
        if missing:
            logger.warning("Catalogued %d records of %s that the dead crawler had not", len(missing),
                           name)

    def finish_run(self, status: str, stats: dict[str, Any],
                   counts: dict[str, int] | None = None) -> None:
        if self.run_id is None:
            return
        with self.sessions.begin() as session:
            runs.finish_run(session, self.run_id, status=status, stats=stats)
            runs.set_run_counts(session, self.run_id, counts or {})

    # ---- queued writes: each returns a Future resolved once its row is committed ----------

    def archive_exchange(
        self, exchange: HttpExchange, record_id: str, source_lastmod: datetime | None,
        kind: str | None = None, previous: CaptureState | None = UNKNOWN,
    ) -> Future[Archived]:
        """`kind` is "article" for article pages (their outcome is counted), else a hub;
        `previous` is the URL's last capture if the caller looked it up (None: it has none)."""
        return self._submit(self._archive_exchange, exchange, record_id, source_lastmod, kind,
                            previous)

    def remember(self, found: list[Discovered]) -> Future[None]:
        """Put URLs in the frontier: pending until processed, whatever happens to this run."""
        return self._submit(lambda session, batch: batch.discovered.extend(found))

    def relist(self, listed: list[tuple[str, datetime | None]], sitemap_url: str) -> Future[None]:
        """This sitemap lists these (URL, lastmod) now: it changed and was read."""
        return self._submit(lambda session, batch: batch.relisted.append((listed, sitemap_url)))

    def processed(self, url: str) -> Future[None]:
        """The page of `url` and everything it led to are recorded (queued after them)."""
        return self._submit(lambda session, batch: batch.processed.append(url))

    def failed(self, failure: FetchFailure) -> Future[None]:
        """A fetch of this URL failed: it backs off, or is given up (frontier.record_failures)."""
        return self._submit(lambda session, batch: batch.failed.append(failure))

    def file_extraction(self, page: ArticlePage, extraction: Extraction) -> Future[Filed]:
        """Resolves to where the text went (or the failure's reason) once it is committed."""
        return self._submit(self._file_extraction, page, extraction)

    def close(self) -> Future[None]:
        """Commit every queued write, then close the WARC file (renaming it from .open)."""
        future: Future[None] = Future()
        self._queue.put((_STOP, future))
        return future

    def _submit(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self._queue.put((work, future, args))
        return future

    # ---- on the archive thread -----------------------------------------------------------

    def _run(self) -> None:
        batch = _Batch()
        with self.sessions() as session:
            while True:
                task = self._queue.get()
                if task[0] is _STOP:
                    self._commit(session, batch)
                    self._stop(task[1])
                    return
                work, future, args = task
                try:
                    result = work(session, batch, *args)
                except Exception as error:
                    future.set_exception(error)
                else:
                    batch.waiting.append((future, result))
                if batch.waiting and (len(batch) >= BATCH_SIZE or self._queue.empty()):
                    batch = self._commit(session, batch)

    def _commit(self, session: Session, batch: _Batch) -> _Batch:
        try:
            paths = self._name_articles(session, batch.extracted)
            if batch.captures:
                self.writer.sync()  # the records are durable before rows point at them
            self._insert_captures(session, batch.captures)
            now = utc_now()
            frontier.remember(session, self.site, batch.discovered, now)
            for listed, sitemap_url in batch.relisted:
                frontier.relist(session, self.site, listed, sitemap_url)
            frontier.mark_gone(session, batch.gone, now)
            frontier.mark_back(session, batch.back)
            filed = self._file_extractions(session, batch.extracted, paths)
            frontier.mark_done(session, self.site, batch.processed, now)
            frontier.record_failures(session, self.site, batch.failed, now, self.backoff)
            session.commit()
            session.expunge_all()  # a long crawl must not grow the identity map
        except Exception as error:
            session.rollback()
            session.expunge_all()
            self._forget(batch)
            logger.error("Catalogue batch of %d rows failed; its WARC file is left .open for the "
                         "next run to repair and catalogue", len(batch), exc_info=True)
            for future, _ in batch.waiting:
                future.set_exception(error)
        else:
            for future, result in batch.waiting:
                future.set_result(filed[id(result)] if isinstance(result, _Extracted) else result)
        return _Batch()

    def _forget(self, batch: _Batch) -> None:
        """Undo what a failed batch taught the caches, and leave its WARC file `.open`: its
        records are in the file but not in the catalogue, which a later repair mends."""
        for capture in batch.captures:
            self.recent.pop(capture.warc_record_id, None)
            self.latest.pop(capture.url, None)
        if batch.captures:
            try:
                self.writer.abandon()
            except OSError:
                logger.error("Could not set the WARC file aside", exc_info=True)

    def _insert_captures(self, session: Session, captures: list[NewCapture],
                         salvage: bool = False) -> list[tuple[NewCapture, str]]:
        """Full records first: a revisit in the same batch needs its original's id. With
        `salvage`, a row the database refuses is returned with the reason instead of
        failing the others (start-up repair must never die on one record)."""
        refused: list[tuple[NewCapture, str]] = []

        def insert(rows: list[NewCapture]) -> None:
            if salvage:
                ids, lost = repository.insert_captures_salvaging(session, rows)
                refused.extend(lost)
            else:
                ids = repository.insert_captures(session, rows)
            self.recent.update(ids)
        insert([c for c in captures if c.refers_to_record_id is None])
        insert([replace(c, refers_to_capture_id=self._capture_id(session, c.refers_to_record_id))
                for c in captures if c.refers_to_record_id is not None])
        return refused

    def _capture_id(self, session: Session, record_id: str | None) -> int | None:
        if record_id is None:
            return None
        if record_id not in self.recent:
            found = repository.capture_id_by_record_id(session, record_id)
            if found is None:
                return None
            self.recent[record_id] = found
        return self.recent[record_id]

    def _stop(self, future: Future[None]) -> None:
        try:
            self.writer.close()
        except Exception as error:
            future.set_exception(error)
        else:
            future.set_result(None)

    def _archive_exchange(
        self, session: Session, batch: _Batch, exchange: HttpExchange, record_id: str,
        source_lastmod: datetime | None, kind: str | None, looked_up: CaptureState | None,
    ) -> Archived:
        digest = warc_digest(exchange.response_body)
        previous = self._previous(session, exchange.url, looked_up)
        blocked = self._challenge(exchange)
        # a challenge is no copy of the page: a full record, no outcome, never the URL's latest
        stored = Stored(None, None) if blocked else how_to_store(kind, exchange.status, digest,
                                                                  previous)
        pointer = self.writer.write_exchange(exchange, response_record_id=record_id,
                                             revisit=stored.revisit)
        headers = {name.lower(): value for name, value in exchange.response_headers}
        revisit = stored.revisit
        batch.captures.append(NewCapture(
            url=exchange.url,
            warc_type="revisit" if revisit else "response",
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
            etag=headers.get("etag") or (previous.etag if revisit and previous else None),
            last_modified=headers.get("last-modified") or (
                previous.last_modified if revisit and previous else None),
            source_lastmod=source_lastmod,
            crawl_run_id=self.run_id,
            revisit_profile=revisit.profile if revisit else None,
            refers_to_record_id=revisit.refers_to_record_id if revisit else None,
            blocked=blocked,
        ))
        if not blocked:
            self._remember_latest(exchange, pointer, revisit, previous, source_lastmod)
            self._follow_up(batch, exchange, stored.outcome)
        return Archived(pointer, "revisit" if revisit else "response", stored.outcome, blocked)

    def _challenge(self, exchange: HttpExchange) -> str | None:
        if self.blocking is None:
            return None
        encoding = next((value for name, value in exchange.response_headers
                         if name.lower() == "content-encoding"), None)
        marker = self.blocking.marker_in_sent(exchange.response_body, encoding, exchange.status)
        return f"bot challenge ({marker})" if marker else None

    def _previous(self, session: Session, url: str,
                  looked_up: CaptureState | None) -> CaptureState | None:
        """The URL's last capture: one written by this process lately, else what the spider
        looked up for its decision, else (robots.txt, a redirect's target) the catalogue's."""
        if url in self.latest:
            return self.latest[url]
        if looked_up is not UNKNOWN:
            return looked_up
        return frontier.latest_captures(session, self.site, [url]).get(url)

    def _remember_latest(self, exchange: HttpExchange, pointer: WarcPointer, revisit: Any,
                         previous: CaptureState | None, source_lastmod: datetime | None) -> None:
        own = revisit is None or previous is None
        self.latest[exchange.url] = CaptureState(
            url=exchange.url, record_id=pointer.record_id, fetched_at=exchange.fetched_at,
            status=exchange.status, payload_digest=pointer.payload_digest, etag=None,
            last_modified=None, source_lastmod=source_lastmod,
            payload_record_id=pointer.record_id if own else previous.payload_record_id,
            payload_capture_id=None if own else previous.payload_capture_id,
            payload_fetched_at=exchange.fetched_at if own else previous.payload_fetched_at,
            done_at=None, listed_lastmod=None,
        )

    @staticmethod
    def _follow_up(batch: _Batch, exchange: HttpExchange, outcome: str | None) -> None:
        """Gone and back again; pages with nothing to parse are processed once archived."""
        if outcome == "gone":
            batch.gone.append(exchange.url)
        elif outcome in ("new", "changed", "unchanged", "not_modified"):
            batch.back.append(exchange.url)
        status = exchange.status
        if 300 <= status < 500 and status != 429:  # redirects, 304, 404, 410: nothing to parse
            batch.processed.append(exchange.url)

    def _file_extraction(
        self, session: Session, batch: _Batch, page: ArticlePage, extraction: Extraction
    ) -> _Extracted:
        record_id = page.warc_record_id
        if record_id is None:
            raise LookupError(f"{page.url} was not archived (WARC_ENABLED is off)")
        if record_id not in self.recent and not batch.has_capture(record_id):
            capture_id = repository.capture_id_by_record_id(session, record_id)
            if capture_id is None:  # the exchange's write failed: that was reported already
                raise LookupError(f"no capture {record_id} for {page.url}")
            self.recent[record_id] = capture_id
        extracted = _Extracted(page, extraction)
        batch.extracted.append(extracted)
        return extracted

    @staticmethod
    def _name_articles(session: Session, extracted: list[_Extracted]) -> dict[str, str]:
        """The text file names of the batch's articles, their rows committed on their own
        before the batch writes anything: a run killed (or a batch failing) after a file is
        written leaves it under the name its URL keeps, which the next extraction
        overwrites, never a file no row names (on PostgreSQL a rolled-back row's id is not
        given again, so its name would be lost)."""
        urls = [e.page.url for e in extracted if e.extraction.article is not None]
        if not urls:
            return {}
        paths = repository.article_text_paths(session, urls)
        session.commit()
        return paths

    def _file_extractions(self, session: Session, extracted: list[_Extracted],
                          paths: dict[str, str]) -> dict[int, Filed]:
        """Text files first, then their `documents` rows; failures as `extraction_failures`."""
        articles = [e for e in extracted if e.extraction.article is not None]
        filed_before = repository.latest_text_sha1(session, (e.page.url for e in articles))
        documents, failures, filed = [], [], {}
        for item in extracted:
            page, extraction = item.page, item.extraction
            capture_id = self.recent[page.warc_record_id]  # type: ignore[index]
            if extraction.failure is not None:
                failures.append(NewFailure(
                    url=page.url, reason=extraction.failure.reason,
                    detail=extraction.failure.detail, extractor_version=extraction.version,
                    failed_at=utc_now(), capture_id=capture_id,
                ))
                filed[id(item)] = Filed(None, extraction.failure.reason)
                continue
            article, path = extraction.article, paths[page.url]
            assert article is not None
            text = article.text
            write_text_file(self.text_dir, path, text)
            filed[id(item)] = Filed(path, None)
            if filed_before.get(page.url) == text_sha1_of(text):
                continue  # the same text again: the catalogue has it
            filed_before[page.url] = text_sha1_of(text)
            documents.append(NewDocument(
                url=page.url, title=article.title, text_path=path,
                text_sha1=text_sha1_of(text), extractor_version=extraction.version,
                extracted_at=utc_now(), capture_id=capture_id,
                **article.document_fields(page.fetched_at),  # published_at and page metadata
            ))
        repository.insert_documents(session, documents)
        repository.insert_failures(session, failures)
        return filed
