"""The single writer of WARC records, catalogue rows and text files for one crawl.

Every write goes through one thread, in submission order. That keeps WARC offsets
sequential, guarantees a capture row exists before any document that names it, and
keeps gzip, disk and database work off the reactor thread.

Catalogue rows are written in batches: one bulk INSERT and one commit when the queue
runs dry or a batch is full, instead of an ORM round trip per row, because the thread
shares the GIL with the reactor. Each WARC record is flushed to its file before the
batch naming it commits, so every catalogue row points at a complete record. A failed
batch fails every write in it (the crawl is then stopped by the caller): nothing is
dropped quietly, and its WARC file is left `.open` for the next run to repair.

Who writes, through the one FIFO queue:

* `WarcExporter` (crawler.extensions.warc): each exchange (`archive_exchange`), as soon as
  it is downloaded, before any callback sees the response; and a redirect's target into
  the frontier (`remember`), which the spider never saw;
* the spider (crawler.spiders.news): URLs it decided to fetch (`remember`), what a sitemap
  lists now (`relist`), failed fetches (`failed`), and pages done (`mark_done`);
* `ExtractPipeline` (crawler.pipelines): texts and failures (`file_extraction`), then the
  page done (`mark_done`);
* this thread itself: a 3xx or 4xx answer is done once archived (a photo: a 2xx or 3xx), a
  404/410 marks its URL gone, a page answering again marks it back.

The order rules, which crash safety rests on (a run killed at any point leaves every URL
it had not finished pending in the frontier, and the next run takes it up):

1. A page's capture is queued before anything about the page: the exporter queues it
   from `response_downloaded`, before the spider's callback runs, so the filing of its
   text finds the capture in the same batch or an earlier one.
2. A "done" mark is queued after everything it stands for: the spider queues a page's
   links (`remember`) before the page's `mark_done`; the pipeline queues `mark_done` only
   once its text's batch has committed. A "done" therefore never commits before the
   rows it follows, and a run dying in between leaves the URL pending, never done with
   its links or text lost.
3. Within one commit, rows are written in this order: text file names (committed on
   their own, see storage.catalogue.filing), WARC records flushed, captures (full
   records before the revisits that refer to them), frontier additions, sitemap
   listings (they may update those additions), gone and back marks, texts and
   failures, done marks, then failed fetches.
4. `close` is queued last: every write queued before it is committed first.

A WARC file is closed (rotated past WARC_MAX_SIZE, or at the end) on this thread only
after the batch holding its last rows has committed, and then gets its CDXJ index
(storage.cdxjfiles): a closed file of ours never holds a record the catalogue lacks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crawler.captures import UNKNOWN, Archived, CaptureWriter
from crawler.config import setting
from crawler.exitcodes import Unusable, opened
from crawler.extraction.filed import extracted_of
from crawler.statuses import final_answer
from storage.catalogue import frontier
from storage.catalogue.db import open_catalogue
from storage.catalogue.filing import Filed, TextFiler
from storage.catalogue.frontier import Backoff, CaptureState, Discovered, FetchFailure
from storage.catalogue.repository import NewCapture
from storage.cdxj import import_key_maker
from storage.cdxjfiles import write_file_index
from storage.dates import utc_now
from storage.warc.exchange import HttpExchange
from storage.warc.writer import WarcWriter

if TYPE_CHECKING:
    from datetime import datetime

    from scrapy.crawler import Crawler

    from crawler.archiveprocess import ArchiveProcess
    from crawler.challenges import Blocking
    from crawler.extraction.article import Extraction

__all__ = ["Archive", "ArchiveUnavailable"]

logger = logging.getLogger(__name__)

# PostgreSQL's deadlock and serialization failures: the batch is tried again, whole
CONFLICTS = frozenset({"40P01", "40001"})
COMMIT_TRIES = 3
BATCH_SIZE = 200  # rows per commit at most; a batch is also committed when the queue runs dry
COMMIT_INTERVAL = 0.1  # seconds: under load, commits come no oftener than this (group commit)
DEFAULT_BACKLOG = 32 * 2**20  # bytes of pages handed over and not yet committed (ARCHIVE_BACKLOG_BYTES)


class ArchiveUnavailable(Unusable):
    """The archive cannot be written: the crawl must not start (NotConfigured would let it
    run without archiving, fetching pages that are then lost)."""


@dataclass(frozen=True, slots=True)
class _Extraction:
    """An extraction waiting for the batch's commit, where its capture id is known."""

    url: str
    record_id: str
    fetched_at: datetime
    extraction: Extraction


@dataclass
class _Batch:
    """What the next commit writes, and the futures that wait on it."""

    captures: list[NewCapture] = field(default_factory=list)
    extracted: list[_Extraction] = field(default_factory=list)
    discovered: list[Discovered] = field(default_factory=list)
    # what sitemaps list now: applied after `discovered`, whose rows it may update
    relisted: list[tuple[list[tuple[str, datetime | None]], str]] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    failed: list[FetchFailure] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    waiting: list[tuple[Future[Any], Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.captures) + len(self.extracted) + len(self.discovered) + \
            len(self.done) + len(self.failed)

    def has_capture(self, record_id: str) -> bool:
        return any(capture.warc_record_id == record_id for capture in self.captures)


_STOP = object()


class Backlog:
    """Bytes of exchanges handed to the archive and not yet committed. The crawl waits for
    room (crawler.middlewares.backpressure) rather than hold ever more pages in memory when
    the disk or the database is slower than the network. Thread-safe: added to on the
    reactor, emptied on the thread that learns of the commit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.bytes = 0
        self._lock = threading.Lock()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    @property
    def full(self) -> bool:
        """Over the limit; never while nothing is held (a limit of 0 would wait for ever)."""
        return self.bytes >= self.limit and self.bytes > 0

    def holding(self, size: int, future: Future[Any]) -> None:
        """`size` bytes are held until `future` (their commit) resolves."""
        with self._lock:
            self.bytes += size
        future.add_done_callback(lambda _: self._release(size))

    def _release(self, size: int) -> None:
        with self._lock:
            self.bytes -= size
            if self.full:
                return
            waiting, self._waiting = self._waiting, []
        for loop, room in waiting:
            loop.call_soon_threadsafe(_resolve, room)

    async def room(self) -> None:
        """Returns at once while under the limit, else once the backlog drops under it."""
        with self._lock:
            if not self.full:
                return
            loop = asyncio.get_running_loop()
            room = loop.create_future()
            self._waiting.append((loop, room))
        await room


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def exchange_size(exchange: HttpExchange) -> int:
    return len(exchange.response_body) + len(exchange.request_body or b"") + 1024


def warcinfo_of(settings: Any, site: str = "", profile: Any = None) -> dict[str, str]:
    """The warcinfo fields a crawl states (WARC 1.1, 6.1): who ran it (WARC_OPERATOR), what
    the files belong to (WARC_IS_PART_OF, else the site) and what they hold (WARC_DESCRIPTION,
    else said from the profile), and how it fetched (robots policy, User-Agent)."""
    where = f"{profile.title or site} ({profile.origin})" if profile is not None else site
    description = f"Crawl of {where}: its pages, sitemaps and feeds" if where else ""
    fields = {
        "operator": setting(settings, "WARC_OPERATOR", str),
        "isPartOf": setting(settings, "WARC_IS_PART_OF", str) or site,
        "description": setting(settings, "WARC_DESCRIPTION", str) or description,
        "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        "http-header-user-agent": settings.get("USER_AGENT", ""),
    }
    return {name: value for name, value in fields.items() if value}


@dataclass(frozen=True)
class ArchiveConfig:
    """What an archive is made from, read from the settings once: plain values, so that a
    writer process of the crawl (crawler.archiveprocess) builds the same archive."""

    warc_dir: Path
    text_dir: Path
    prefix: str
    max_size: int
    software: str
    operator_info: dict[str, str]
    backoff_first: float
    give_up_after: int
    database_url: str
    pid: int  # the crawl's: its WARC files are named for it, whichever process writes them
    backlog_limit: int = DEFAULT_BACKLOG

    @classmethod
    def of(cls, settings: Any, site: str = "", profile: Any = None) -> ArchiveConfig:
        """Refuses (ArchiveUnavailable) folders that cannot be written."""
        for name in ("WARC_DIR", "EXTRACT_TEXT_DIR"):
            try:
                Path(setting(settings, name, str)).mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ArchiveUnavailable(
                    f"{name}={setting(settings, name, str)} cannot be used ({error.strerror}): "
                    f"set DATA_DIR or -s {name}=... to a writable folder"
                ) from error
        return cls(
            warc_dir=Path(setting(settings, "WARC_DIR", str)),
            text_dir=Path(setting(settings, "EXTRACT_TEXT_DIR", str)),
            prefix=setting(settings, "WARC_PREFIX", str),
            max_size=setting(settings, "WARC_MAX_SIZE", int),
            software=settings.get("USER_AGENT", "vnarchive").split(" ")[0],
            operator_info=warcinfo_of(settings, site, profile),
            backoff_first=setting(settings, "RECRAWL_BACKOFF", float),
            give_up_after=setting(settings, "RECRAWL_GIVE_UP_AFTER", int),
            database_url=setting(settings, "DATABASE_URL", str),
            pid=os.getpid(),
            backlog_limit=setting(settings, "ARCHIVE_BACKLOG_BYTES", int),
        )

    @property
    def shared_catalogue(self) -> bool:
        """Whether another process opening the URL reaches the same catalogue (an in-memory
        SQLite database is its process's own)."""
        url = make_url(self.database_url)
        return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")

    def sessions(self, upgraded: bool = False) -> sessionmaker[Session]:
        """`upgraded`: the crawl opened the catalogue first (storage.catalogue.db)."""
        return opened(lambda: open_catalogue(self.database_url, upgraded=upgraded),
                      self.database_url)


class Settling:
    """Tells a shared crawl job (crawler.frontier) of each URL whose outcome is committed: its
    page done (and what it led to recorded), its failure recorded, or its final answer (a
    redirect, a 304, a 404; a photo) archived. Called on the thread that resolves the write."""

    settled: Callable[[str], None] | None = None

    def settle_when(self, future: Future[Any], url: str) -> Future[Any]:
        settled = self.settled
        if settled is not None:
            future.add_done_callback(lambda done: None if done.exception() else settled(url))
        return future


def done_once_archived(status: int, kind: str | None) -> bool:
    """A page with nothing to parse is done with its capture: a redirect, 304, 404 or 410; a
    photo that came (its 4xx and 5xx are failures, which back off)."""
    return status < 400 if kind == "photo" else final_answer(status)


class Archive(Settling):
    _per_crawler: WeakKeyDictionary[Crawler, Archive | ArchiveProcess] = WeakKeyDictionary()

    def __init__(self, writer: WarcWriter, sessions: sessionmaker[Session], text_dir: Path,
                 backoff: Backoff | None = None, backlog_limit: int = DEFAULT_BACKLOG):
        self.writer = writer
        self.backlog = Backlog(backlog_limit)
        writer.rotate_on_write = False  # a full file is closed once its rows commit (_rotate)
        self.backoff = backoff or Backoff()
        self.sessions = sessions
        self.captures = CaptureWriter(writer)
        self.filer = TextFiler(text_dir)
        self.site = ""  # the crawl run's site and id, set before any write (RunLifecycle)
        self.run_id: int | None = None
        self.blocking: Blocking | None = None  # the site's challenge markers, set by the spider
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._files_seen = 0  # of writer.files_written: those indexed (or never to be) so far
        self.commits = self.rows_committed = 0  # logged at close: rows per commit tell the load
        self._thread = threading.Thread(target=self._run, name="archive", daemon=True)
        self._thread.start()
        # the run's last file is indexed at its end: what that imports, imported meanwhile
        threading.Thread(target=import_key_maker, name="index-imports", daemon=True).start()

    @classmethod
    def of(cls, crawler: Crawler) -> Archive | ArchiveProcess:
        """The crawl's one archive, shared by the spider, the extensions and the pipeline: in
        a process of its own (crawler.archiveprocess) unless ARCHIVE_PROCESS is off."""
        if crawler not in cls._per_crawler:
            site = crawler.spidercls.name  # a site is its profile's, its spider's, name
            config = ArchiveConfig.of(crawler.settings, site,
                                      getattr(crawler.spidercls, "profile", None))
            archive: Archive | ArchiveProcess
            if setting(crawler.settings, "ARCHIVE_PROCESS", bool) and config.shared_catalogue:
                from crawler.archiveprocess import ArchiveProcess
                archive = ArchiveProcess(config)
            else:
                archive = cls.from_config(config)
            archive.site = site
            cls._per_crawler[crawler] = archive
        return cls._per_crawler[crawler]

    @classmethod
    def from_config(cls, config: ArchiveConfig, upgraded: bool = False) -> Archive:
        writer = WarcWriter(config.warc_dir, prefix=config.prefix, max_size=config.max_size,
                            software=config.software, operator_info=config.operator_info,
                            pid=config.pid)
        backoff = Backoff(first=timedelta(seconds=config.backoff_first),
                          give_up_after=config.give_up_after)
        return cls(writer, config.sessions(upgraded), config.text_dir, backoff,
                   config.backlog_limit)

    @property
    def directory(self) -> Path:
        """Where the WARC files go."""
        return self.writer.directory

    def ready(self) -> None:
        """Ready at once (crawler.archiveprocess waits for its process here)."""

    # ---- queued writes: each returns a Future resolved once its rows are committed --------

    def archive_exchange(
        self, exchange: HttpExchange, record_id: str, source_lastmod: datetime | None,
        kind: str | None = None, previous: CaptureState | None = UNKNOWN,
    ) -> Future[Archived]:
        """`kind` is "article" for article pages (their outcome is counted), "photo" for an
        article's image, else a hub;
        `previous` is the URL's last capture if the caller looked it up (None: it has none)."""
        future = self._submit(self._archive_exchange, exchange, record_id, source_lastmod, kind,
                              previous)
        self.backlog.holding(exchange_size(exchange), future)
        if done_once_archived(exchange.status, kind):
            self.settle_when(future, exchange.url)
        return future

    def remember(self, found: list[Discovered]) -> Future[None]:
        """Put URLs in the frontier: pending until done, whatever happens to this run."""
        return self._submit(lambda session, batch: batch.discovered.extend(found))

    def relist(self, listed: list[tuple[str, datetime | None]], sitemap_url: str) -> Future[None]:
        """This sitemap lists these (URL, lastmod) now: it changed and was read."""
        return self._submit(lambda session, batch: batch.relisted.append((listed, sitemap_url)))

    def mark_done(self, url: str) -> Future[None]:
        """The page of `url` and everything it led to are recorded (queued after them): the
        frontier is done with it."""
        return self.settle_when(self._submit(lambda session, batch: batch.done.append(url)), url)

    def failed(self, failure: FetchFailure) -> Future[None]:
        """A fetch of this URL failed: it backs off, or is given up (frontier.record_failures)."""
        return self.settle_when(self._submit(lambda session, batch: batch.failed.append(failure)),
                              failure.url)

    def file_extraction(self, url: str, record_id: str, fetched_at: datetime,
                        extraction: Extraction) -> Future[Filed]:
        """File what was extracted from the capture `record_id` (storage.catalogue.filing);
        resolves to where the text went (or the failure's reason) once it is committed."""
        return self._submit(self._file_extraction, _Extraction(url, record_id, fetched_at,
                                                               extraction))

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
        """Group commit: a batch is committed once it is full, or once nothing more is queued
        and COMMIT_INTERVAL has passed since the last commit (the wait for the next task
        times out then, at once if the interval is over). A lone write commits at once;
        under load every commit carries many pages (a commit costs a WARC fsync and a dozen
        statements, whatever its size)."""
        batch, last_commit = _Batch(), 0.0
        with self.sessions() as session:
            while True:
                wait = max(0.0, last_commit + COMMIT_INTERVAL - time.monotonic()) \
                    if batch.waiting else None
                try:
                    task = self._queue.get(timeout=wait)
                except queue.Empty:  # the interval is over and nothing came: commit
                    batch, last_commit = self._commit(session, batch), time.monotonic()
                    continue
                if task[0] is _STOP:
                    self._commit(session, batch)
                    self._stop(task[1], session)
                    return
                work, future, args = task
                try:
                    result = work(session, batch, *args)
                except Exception as error:
                    future.set_exception(error)
                else:
                    batch.waiting.append((future, result))
                if batch.waiting and len(batch) >= BATCH_SIZE:
                    batch, last_commit = self._commit(session, batch), time.monotonic()

    def _commit(self, session: Session, batch: _Batch) -> _Batch:
        try:
            if batch.captures:
                self.writer.sync()  # the records are durable before rows point at them
            filed = self._write_rows(session, batch)
            self.commits, self.rows_committed = self.commits + 1, self.rows_committed + len(batch)
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
                future.set_result(filed[id(result)] if isinstance(result, _Extraction) else result)
            self._rotate()
            self._index_closed_files(session)
        return _Batch()

    def _write_rows(self, session: Session, batch: _Batch) -> dict[int, Filed]:
        """The batch's rows, committed; tried again when the database chose it as the victim of
        a deadlock or a serialization conflict with another worker's batch (PostgreSQL)."""
        for attempt in range(1, COMMIT_TRIES + 1):
            try:
                names = self.filer.name_texts(session, (e.url for e in batch.extracted
                                                        if e.extraction.article is not None))
                self.captures.insert(session, batch.captures)
                now = utc_now()
                frontier.remember(session, self.site, batch.discovered, now)
                for listed, sitemap_url in batch.relisted:
                    frontier.relist(session, self.site, listed, sitemap_url)
                frontier.mark_gone(session, batch.gone, now)
                frontier.mark_back(session, batch.back)
                filed = self._file_extractions(session, batch.extracted, names)
                frontier.mark_done(session, self.site, batch.done, now)
                frontier.record_failures(session, self.site, batch.failed, now, self.backoff)
                session.commit()
                session.expunge_all()  # a long crawl must not grow the identity map
                return filed
            except OperationalError as error:
                if attempt == COMMIT_TRIES or getattr(error.orig, "sqlstate", None) not in CONFLICTS:
                    raise
                session.rollback()
                session.expunge_all()
                self.captures.forget(batch.captures)  # their ids were rolled back
                logger.warning("Catalogue batch lost a conflict with another writer (%s): "
                               "trying again", getattr(error.orig, "sqlstate", ""))
        raise AssertionError("unreachable")

    def _rotate(self) -> None:
        """Close the WARC file once it is full and every record in it is catalogued: a closed
        file of ours never holds a record the catalogue lacks (a failed batch or a killed
        process leaves it `.open`, which the next run repairs and catalogues)."""
        try:
            self.writer.rotate_if_full()
        except Exception:  # the file is left .open, whole and catalogued: repair renames it
            logger.error("Could not close the full WARC file; the next run's repair closes it",
                         exc_info=True)

    def _index_closed_files(self, session: Session) -> None:
        """Index each WARC file closed since the last commit: its rows are all committed now.
        A failure is logged; the file stays without an index until the next run's start-up
        pass (or `scrapy cdxj --per-file`) writes it."""
        closed = self.writer.files_written
        for name in closed[self._files_seen:]:
            try:
                counts = write_file_index(session, self.writer.directory, name, run=self.run_id)
            except Exception:
                logger.error("Could not write the CDXJ index of %s; `scrapy cdxj --per-file` "
                             "writes it", name, exc_info=True)
            else:
                logger.info("Indexed %s: %d CDXJ lines", name, counts.lines)
            finally:
                session.rollback()  # end the read: hold no transaction between batches
                session.expunge_all()
        self._files_seen = len(closed)

    def _forget(self, batch: _Batch) -> None:
        """Undo what a failed batch taught the caches, and leave its WARC file `.open`: its
        records are in the file but not in the catalogue, which a later repair mends."""
        self.captures.forget(batch.captures)
        if batch.captures:
            try:
                self.writer.abandon()
            except OSError:
                logger.error("Could not set the WARC file aside", exc_info=True)

    def _stop(self, future: Future[None], session: Session) -> None:
        try:
            self.writer.close()
        except Exception as error:
            future.set_exception(error)
        else:
            self._index_closed_files(session)
            logger.info("Archive closed: %d catalogue rows in %d commits", self.rows_committed,
                        self.commits)
            future.set_result(None)

    def _archive_exchange(
        self, session: Session, batch: _Batch, exchange: HttpExchange, record_id: str,
        source_lastmod: datetime | None, kind: str | None, looked_up: CaptureState | None,
    ) -> Archived:
        row, archived = self.captures.store(session, exchange, record_id, source_lastmod, kind,
                                            looked_up, site=self.site, run_id=self.run_id,
                                            blocking=self.blocking)
        batch.captures.append(row)
        if not archived.blocked:
            _follow_up(batch, exchange, archived.outcome, kind)
        return archived

    def _file_extraction(self, session: Session, batch: _Batch, waiting: _Extraction) -> _Extraction:
        """Refuse at once an extraction whose capture is nowhere (its write failed)."""
        if not batch.has_capture(waiting.record_id) and \
                self.captures.capture_id(session, waiting.record_id) is None:
            raise LookupError(f"no capture {waiting.record_id} for {waiting.url}")
        batch.extracted.append(waiting)
        return waiting

    def _capture_id(self, session: Session, record_id: str) -> int:
        capture_id = self.captures.capture_id(session, record_id)
        if capture_id is None:  # _file_extraction refused those whose capture is nowhere
            raise LookupError(f"no capture {record_id}")
        return capture_id

    def _file_extractions(self, session: Session, waiting: list[_Extraction],
                          names: dict[str, str]) -> dict[int, Filed]:
        # by id, not from the cache alone: a capture committed long ago may have left it
        extracted = [extracted_of(one.url, self._capture_id(session, one.record_id),
                                  one.fetched_at, one.extraction) for one in waiting]
        filed = self.filer.file(session, extracted, names)
        return {id(one): result for one, result in zip(waiting, filed, strict=True)}


def _follow_up(batch: _Batch, exchange: HttpExchange, outcome: str | None,
               kind: str | None = None) -> None:
    """Gone and back again; pages with nothing to parse are done once archived. A photo is
    done in the same commit as its capture (a run dying between cannot fetch it twice); a
    photo's 4xx is not done: it is the failure the spider records, which backs off."""
    if outcome == "gone":
        batch.gone.append(exchange.url)
    elif outcome in ("new", "changed", "unchanged", "not_modified"):
        batch.back.append(exchange.url)
    if done_once_archived(exchange.status, kind):
        batch.done.append(exchange.url)
