"""One run per site at a time, on one machine or many sharing a catalogue; the run's row;
and the repair of what a dead run left.

`RunLifecycle` (a Scrapy extension, before any request is made): the run's `crawl_runs`
row, the site's lock with its heartbeat, and start-up recovery. The lock is a catalogue
row with a heartbeat. A holder is stale when it ran on this host and its process is
gone, or when its heartbeat stopped (another host, or a hung run); a stale lock is
reported and taken over, so a crashed run never blocks the site forever. Recovery then
repairs the WARC files dead crawlers of this host left `.open` (cut after their last
whole record), catalogues the records they hold that never reached the catalogue, marks
the dead run killed, and writes the CDXJ index (storage.cdxjfiles) of the files repaired
and of those the dead run closed without indexing them; an older backlog of missing
indexes is left to `scrapy cdxj --per-file`, so start-up work stays bounded while the lock
has no heartbeat yet (the lock is renewed after each file). The run is recorded as
finished, and the site freed, once the archive is closed (crawler.signals.archive_closed).

Settings: RUNLOCK_STALE_AFTER, RUNLOCK_HEARTBEAT (seconds), WARC_ENABLED (off: no run
row, no lock). Stats: catalogue/crawl_run_id, runlock/taken_over_from_run,
runlock/repaired_files, runlock/recatalogued_captures, runlock/indexed_files,
runlock/heartbeat_errors,
runlock/lost.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThread

from crawler.archive import Archive
from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable, catalogue_problem
from crawler.frontier import FrontierRefused, frontier_of
from crawler.signals import archive_closed
from storage.catalogue import locks, repository, runs
from storage.catalogue.locks import LockHolder
from storage.catalogue.runs import COUNTS
from storage.cdxjfiles import missing_indexes, write_file_index
from storage.redisqueue.frontier import FrontierUnavailable, SharedFrontier
from storage.repair import abandoned, repair, uncatalogued, writer_pid
from storage.warc.writer import writer_of

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure


logger = logging.getLogger(__name__)

ARCHIVE_UNAVAILABLE = "archive_unavailable"  # the close reason of a crawl whose archive never started


class SiteLocked(Unusable):
    """Another run of the same site is in progress (exit status 3: try again later)."""

    def __init__(self, message: str):
        super().__init__(message + ": nothing was fetched; try again once it has finished",
                         ExitCode.LOCKED)


def pid_alive(pid: int, since: datetime | None = None) -> bool:
    """Whether the process `pid` that was running at `since` still runs: a zombie (dead,
    not yet reaped) is dead, and so is a process that started after `since` (the pid was
    given again to another process). Where /proc cannot tell, any process with that pid
    counts as alive: a live run must never be taken for dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        pass
    try:
        state, started = _proc_state(pid)
    except (OSError, ValueError, IndexError):
        return True
    if state in "ZX":
        return False
    return since is None or started <= since + PID_CLOCK_SLACK


# A start time from /proc is boot time plus ticks, read with today's wall clock: a clock
# stepped forward since the lock was taken would make a live holder look newer than its
# lock. Within this slack a reused pid is not noticed, and the lock is taken over only
# once its heartbeat stops (RUNLOCK_STALE_AFTER), as for a holder on another host.
PID_CLOCK_SLACK = timedelta(minutes=5)


def _proc_state(pid: int) -> tuple[str, datetime]:
    """(state letter, start time) of a process, from Linux's /proc."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read().decode("ascii", "replace")
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command name)"
    state, start_ticks = fields[0], int(fields[19])
    with open("/proc/stat", "rb") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime "))
    started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
    return state, datetime.fromtimestamp(started, UTC)


class RunLock:
    def __init__(self, sessions: sessionmaker[Session], site: str, run_id: int,
                 stale_after: timedelta):
        self.sessions = sessions
        self.site = site
        self.run_id = run_id
        self.stale_after = stale_after
        self.hostname = socket.gethostname()
        self.taken_over: LockHolder | None = None

    def acquire(self) -> None:
        """Take the lock, or raise SiteLocked saying who holds it."""
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            if locks.take_lock(session, self.site, self.run_id, self.hostname, os.getpid(), now):
                return
            holder = locks.lock_holder(session, self.site)
            if holder is None:  # released between the two statements: try once more
                if locks.take_lock(session, self.site, self.run_id, self.hostname,
                                        os.getpid(), now):
                    return
                raise SiteLocked(f"could not take the lock of site {self.site!r}; try again")
            alive = holder.hostname != self.hostname or pid_alive(holder.pid, holder.acquired_at)
            if not locks.is_stale(holder, self.hostname, alive, now, self.stale_after):
                since = f"{holder.acquired_at:%Y-%m-%d %H:%M:%S}"
                raise SiteLocked(
                    f"site {self.site!r} is being crawled by run {holder.run_id} "
                    f"(host {holder.hostname}, pid {holder.pid}, since {since} UTC, last "
                    f"heartbeat {holder.heartbeat_at:%H:%M:%S} UTC); two runs of one site "
                    f"never overlap"
                )
            if not locks.take_lock(session, self.site, self.run_id, self.hostname,
                                        os.getpid(), now, replace=holder):
                raise SiteLocked(f"another run took the stale lock of site {self.site!r} first")
        self.taken_over = holder
        logger.warning(
            "Took over the stale lock of site %r from run %d (host %s, pid %d, last heartbeat "
            "%s UTC): that run died without releasing it", self.site, holder.run_id,
            holder.hostname, holder.pid, f"{holder.heartbeat_at:%Y-%m-%d %H:%M:%S}")

    def beat(self) -> bool:
        """Renew the lock; False if another run took it over (this one must stop)."""
        with self.sessions.begin() as session:
            return locks.beat(session, self.site, self.run_id, datetime.now(UTC))

    def release(self) -> None:
        with self.sessions.begin() as session:
            locks.release_lock(session, self.site, self.run_id)


class JobMembership:
    """The run lock's place in a worker of a shared crawl job (FRONTIER_URL): no lock, since
    the job's workers crawl the site together. Once its start-up repair is done, the run joins
    the site's running job (or starts one), and its row says which (crawler.frontier); runs of
    this host whose process died while running are recorded as killed."""

    taken_over: LockHolder | None = None  # a dead run's lock is never taken over here

    def __init__(self, sessions: sessionmaker[Session], frontier: SharedFrontier, site: str,
                 run_id: int):
        self.sessions = sessions
        self.frontier = frontier
        self.site = site
        self.run_id = run_id

    def acquire(self) -> None:
        """Nothing to take: the job is joined once the run can fetch (`join`)."""

    def join(self) -> None:
        try:
            job_id = self.frontier.join(f"{socket.gethostname()}:{os.getpid()}:run{self.run_id}")
        except FrontierUnavailable as error:
            raise FrontierRefused(error) from error
        with self.sessions.begin() as session:
            runs.join_job(session, self.run_id, job_id)
            dead = runs.mark_dead_runs_killed(session, self.site, socket.gethostname(), pid_alive)
        for run_id in dead:
            logger.warning("Run %d of this host died while running: recorded as killed", run_id)
        logger.info("Run %d joined job %d of site %r", self.run_id, job_id, self.site)

    def beat(self) -> bool:
        """The job's leases and this worker's busy mark are renewed by the scheduler
        (crawler.frontier.scheduler); before it runs, here."""
        if self.frontier.job_id is not None:
            self.frontier.renew()
        return True

    def release(self) -> None:
        pass


class RunLifecycle:
    """The crawl run of a Scrapy crawl: its row, its site's lock, and start-up recovery."""

    def __init__(self, crawler: Crawler, archive: Archive):
        self.crawler = crawler
        self.archive = archive
        self.recatalogued = 0
        self.repaired_files = 0
        self.indexed_files = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not setting(crawler.settings, "WARC_ENABLED", bool):
            raise NotConfigured("no archive, no crawl run: set WARC_ENABLED=True to archive")
        lifecycle = cls(crawler, Archive.of(crawler))
        lifecycle.start()  # before any request: a locked site must not be fetched at all
        crawler.signals.connect(lifecycle.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(lifecycle.archive_closed, signal=archive_closed)
        return lifecycle

    def start(self) -> None:
        """The run's catalogue row, the site's lock (a site is its profile's name), and the
        repair of what dead runs left; raises SiteLocked if another run holds the site."""
        site = self.crawler.spidercls.name
        with self.archive.sessions.begin() as session:
            run = runs.start_run(session, spider=site, site=site,
                                       hostname=socket.gethostname(), pid=os.getpid())
            run_id = run.id
        self.archive.run_id = run_id
        settings = self.crawler.settings
        frontier = frontier_of(self.crawler)
        self.lock: RunLock | JobMembership = RunLock(
            self.archive.sessions, site, run_id,
            timedelta(seconds=setting(settings, "RUNLOCK_STALE_AFTER", float)),
        ) if frontier is None else JobMembership(self.archive.sessions, frontier, site, run_id)
        try:
            self.lock.acquire()
        except SiteLocked:
            self._finish_run("locked", {})
            raise
        except FrontierRefused:
            self._finish_run("start_error", {})
            raise
        try:
            self._recover(self.lock.taken_over)
            if isinstance(self.lock, JobMembership):
                # ready first: a worker waiting for its archive at spider_opened renews
                # nothing, and the busy mark joining sets could lapse meanwhile
                self.archive.ready()
                self.lock.join()
        except Exception:  # the run never started: say so, and free the site for the next
            self._finish_run("start_error", {})
            self.lock.release()
            raise
        self.heartbeat = LoopingCall(self.beat)

    def spider_opened(self, spider: Spider) -> None:
        """Before the first request, the archive can write: its process, started with the
        crawl, imported while Scrapy built its engine (waited for here, not at start-up, the
        crawl starts 0.2 s sooner). If it failed, the crawl closes unstarted: its run's status
        is archive_unavailable, and the site's lock is released."""
        try:
            self.archive.ready()
        except Unusable as error:
            logger.error("The crawl cannot start: %s", error)
            raise CloseSpider(ARCHIVE_UNAVAILABLE) from error
        stats = self.crawler.stats
        stats.set_value("catalogue/crawl_run_id", self.archive.run_id)
        if self.lock.taken_over is not None:
            stats.set_value("runlock/taken_over_from_run", self.lock.taken_over.run_id)
        if self.repaired_files:
            stats.set_value("runlock/repaired_files", self.repaired_files)
        if self.recatalogued:
            stats.set_value("runlock/recatalogued_captures", self.recatalogued)
        if self.indexed_files:
            stats.set_value("runlock/indexed_files", self.indexed_files)
        self.heartbeat.start(setting(self.crawler.settings, "RUNLOCK_HEARTBEAT", float), now=False)
        logger.info("Crawl run %d: archiving to %s", self.archive.run_id,
                    self.archive.directory)

    def beat(self) -> Deferred[None]:
        """Renew the lock off the reactor; a failed beat is retried at the next tick (a
        LoopingCall stops for good on an error), a lost lock stops the crawl."""
        return deferToThread(self.lock.beat).addCallbacks(self.lock_renewed, self.renewal_failed)

    def lock_renewed(self, held: bool) -> None:
        if held:
            return
        logger.error("Run %s lost the lock of its site to another run: stopping",
                     self.archive.run_id)
        self.crawler.stats.set_value("runlock/lost", True)
        if self.crawler.crawling and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="lock_lost"))

    def renewal_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("runlock/heartbeat_errors")
        logger.warning("Could not renew the run lock (will try again): %s", failure.value)

    def archive_closed(self, reason: str) -> None:
        """Record the run's end, with its stats and counts, and free the site. A failure is
        counted (`archive/close_errors`): the exit status then says the archive is incomplete."""
        if self.heartbeat.running:
            self.heartbeat.stop()
        stats = self.crawler.stats.get_stats()
        counts = {name: stats.get(f"recrawl/articles/{name}", 0) for name in COUNTS}
        counts["failed"] += sum(n for key, n in stats.items() if key.startswith("extract/failed/"))
        try:
            self._finish_run(reason, json_stats(stats), counts)
            self.lock.release()
        except Exception:
            self.crawler.stats.inc_value("archive/close_errors")
            logger.error("Could not record the end of the run in the catalogue (run %s)",
                         self.archive.run_id, exc_info=True)
        logger.info("Crawl run %s closed: %s", self.archive.run_id, reason)

    def _finish_run(self, status: str, stats: dict[str, Any],
                    counts: dict[str, int] | None = None) -> None:
        with self.archive.sessions.begin() as session:
            runs.finish_run(session, self.lock.run_id, status=status, stats=stats)
            runs.set_run_counts(session, self.lock.run_id, counts or {})

    # ---- start-up recovery (on the caller's thread, before the crawl writes anything) ----

    def _recover(self, dead: LockHolder | None) -> None:
        """Repair the WARC files dead crawlers of this host left open, catalogue the records
        they hold that never reached the catalogue, mark the dead run as killed, and index
        what a crash left without an index. Bounded: what dead crawlers left, never the whole
        archive; the lock is renewed after each file (the heartbeat starts with the crawl)."""
        hostname = socket.gethostname()
        repaired: set[str] = set()
        for path in abandoned(self.archive.directory, hostname, pid_alive):
            # its records belong to the dead run only if that run's process wrote the file
            run_id = dead.run_id if dead is not None and dead.hostname == hostname and \
                dead.pid == writer_pid(path) else None
            try:
                fixed = repair(path, partial(self._catalogue_repaired, run_id=run_id))
            except (OSError, SQLAlchemyError, ValueError):  # one file never stops the run
                logger.error("Could not repair %s; it stays .open for the next run",
                             path.name, exc_info=True)
                fixed = None
            if fixed is not None:  # else failed, or another crawler is repairing it
                logger.warning("Repaired %s left open by a dead crawler: %d records kept, %d bytes "
                               "of a cut record removed", fixed.path.name, fixed.records,
                               fixed.cut_bytes)
                self.repaired_files += 1
                repaired.add(fixed.path.name)
            self._keep_lock()
        if dead is not None:
            with self.archive.sessions.begin() as session:
                runs.mark_run_killed(session, dead.run_id)
        self._index_left_by_crash(hostname, dead, repaired)

    def _index_left_by_crash(self, hostname: str, dead: LockHolder | None, repaired: set[str]) -> None:
        """Write the CDXJ index a crash can leave missing: of each file repaired just now,
        and of each file the dead run whose lock was taken over closed (it died between
        closing a file and indexing it). Any other missing index (an archive from before
        per-file indexes, an index that could not be written) is `scrapy cdxj --per-file`'s:
        indexing a backlog here would hold the lock, without heartbeat, for as long as it takes."""
        warc_dir = self.archive.directory
        left_by_crash = missing_indexes(warc_dir, hostname, pid_alive,
                                        among=lambda name: name in repaired or written_by(name, dead))
        for name in left_by_crash.indexable:
            try:
                with self.archive.sessions() as session:
                    counts = write_file_index(session, warc_dir, name)
            except (OSError, SQLAlchemyError):  # one file never stops the run
                logger.error("Could not write the CDXJ index of %s; `scrapy cdxj --per-file` "
                             "writes it", name, exc_info=True)
                continue
            logger.info("Indexed %s (closed without its index): %d CDXJ lines", name, counts.lines)
            self.indexed_files += 1
            self._keep_lock()

    def _keep_lock(self) -> None:
        """Renew the lock between two files of start-up recovery; stop if it was lost."""
        try:
            kept = self.lock.beat()
        except SQLAlchemyError as error:
            raise catalogue_problem(error, setting(self.crawler.settings, "DATABASE_URL", str)) from error
        if not kept:
            raise SiteLocked(f"run {self.lock.run_id} lost the lock of site {self.lock.site!r} "
                             "during its start-up recovery")

    def _catalogue_repaired(self, open_path: Path, name: str, run_id: int | None) -> None:
        """Catalogue the records of a repaired file the catalogue lacks (written, then the
        crawler died before their batch committed), before the file takes its final name."""
        with self.archive.sessions.begin() as session:
            missing = uncatalogued(open_path, name,
                                   lambda ids: repository.known_record_ids(session, ids), run_id)
            refused = self.archive.captures.insert(session, missing, salvage=True)
        for capture, reason in refused:  # its record stays in the file, readable by offset
            logger.error("Could not catalogue the record %s of %s (%s) at offset %d: %s",
                         capture.warc_record_id, name, capture.url[:200], capture.warc_offset,
                         reason)
        if missing:
            logger.warning("Catalogued %d records of %s that the dead crawler had not", len(missing),
                           name)
        self.recatalogued += len(missing) - len(refused)


def written_by(warc_name: str, dead: LockHolder | None) -> bool:
    """Whether the process of the dead lock holder wrote this file while it held the lock (a
    file named before it took the lock was written by an earlier process given the same pid)."""
    writer = writer_of(warc_name)
    if dead is None or writer is None:
        return False
    return writer.on(dead.hostname) and writer.pid == dead.pid and \
        (writer.named_at is None or writer.named_at >= dead.acquired_at - PID_CLOCK_SLACK)


def json_stats(stats: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in stats.items()}
