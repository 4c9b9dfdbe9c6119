"""Scrapy's scheduler with its pending requests spilling to disk: a crawl's memory stays flat
however many URLs its sitemaps list.

A sitemap of a month of a news site lists thousands of articles, all scheduled at once;
held in memory they made the crawl process 40% larger on a 20,000-article site than on a
2,000-article one. Here the first PENDING_IN_MEMORY wait in memory and the rest in Scrapy's
own disk queues (pickled, as with JOBDIR): every request on disk cost a pickle and a file
write, 5% of the crawl process, where most crawls never hold more than a few hundred. The
disk's requests move to memory as it has room, the highest priority first, so a hub pushed
while the crawl spills is still taken before the articles (one request later). The disk
queues are in a folder of the run's own under PENDING_REQUESTS_DIR, removed when the run
ends. That folder is not a JOBDIR: the catalogue's frontier is what a later run resumes from, so a
run killed before it could remove its folder leaves only a leftover, which the next run on
this host removes. With JOBDIR set, Scrapy's scheduler is used as it is (kept for resuming).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.squeues import PickleFifoDiskQueue, PickleLifoDiskQueue
from scrapy.utils.job import job_dir
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.config import setting
from crawler.exitcodes import Unusable

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

__all__ = ["RequestDiskQueue", "SpillingScheduler", "StartRequestDiskQueue", "scheduler_of"]

logger = logging.getLogger(__name__)


def scheduler_of(crawler: Crawler) -> Scheduler:
    """The scheduler of a crawl that shares no job: pending requests past PENDING_IN_MEMORY
    on disk, unless JOBDIR asks for Scrapy's own or PENDING_REQUESTS_DIR is "" (all in
    memory)."""
    base = setting(crawler.settings, "PENDING_REQUESTS_DIR", str)
    if job_dir(crawler.settings) is not None or not base:
        return Scheduler.from_crawler(crawler)
    return SpillingScheduler.in_folder(crawler, Path(base))


class SpillingScheduler(Scheduler):
    folder: Path
    in_memory: int  # pending requests held in memory before the rest wait on disk

    @classmethod
    def in_folder(cls, crawler: Crawler, base: Path) -> Self:
        try:
            base.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise Unusable(f"PENDING_REQUESTS_DIR={base} cannot be used ({error.strerror}): set "
                           "DATA_DIR or -s PENDING_REQUESTS_DIR=... to a writable folder, or "
                           "PENDING_REQUESTS_DIR= to keep pending requests in memory") from error
        remove_leftovers(base)
        folder = Path(tempfile.mkdtemp(prefix=f"{_prefix()}{os.getpid()}-", dir=base))
        settings = crawler.settings
        scheduler = cls(
            dupefilter=build_from_crawler(load_object(settings["DUPEFILTER_CLASS"]), crawler),
            jobdir=str(folder),
            dqclass=load_object(settings["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(settings["SCHEDULER_MEMORY_QUEUE"]),
            logunser=settings.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(settings["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )
        scheduler.folder = folder
        scheduler.in_memory = setting(settings, "PENDING_IN_MEMORY", int)
        return scheduler

    def _dqpush(self, request: Request) -> bool:
        """In memory while there is room and nothing waits on disk ahead of it (False: Scrapy
        keeps it in memory), else on disk."""
        if len(self.mqs) < self.in_memory and not len(self.dqs):
            return False
        return super()._dqpush(request)

    def next_request(self) -> Request | None:
        request = super().next_request()  # memory first, as Scrapy's
        while len(self.dqs) and len(self.mqs) < self.in_memory:
            waiting = self._dqpop()  # the disk's highest priority
            if waiting is None:
                break
            self._mqpush(waiting)
        return request

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _prefix() -> str:
    return f"run-{socket.gethostname()}-"


def remove_leftovers(base: Path) -> None:
    """Folders of runs of this host whose process is gone (killed before removing its own):
    `run-<host>-<pid>-<random>`, the host matched whole, and a pid given since to another
    process counted as gone (it started after the folder was last written). Folders of other
    hosts are left alone: whether their runs live cannot be told from here."""
    from crawler.extensions.runlock import pid_alive  # the run lock's test of a live pid

    for folder in base.glob(f"{_prefix()}*"):
        parts = folder.name.rsplit("-", 2)  # run-<host>, pid, random
        if f"{parts[0]}-" != _prefix() or not parts[1].isdigit():
            continue
        pid = parts[1]
        try:
            written = datetime.fromtimestamp(folder.stat().st_mtime, UTC)
        except OSError:
            continue
        if not pid_alive(int(pid), since=written):
            shutil.rmtree(folder, ignore_errors=True)
            logger.info("Removed the pending requests a dead run left in %s", folder)


class RequestDiskQueue(PickleLifoDiskQueue):  # type: ignore[valid-type,misc]
    """Scrapy's pickled LIFO disk queue, the same entries, made without `inspect`: Scrapy
    names a request's callback by listing every method of the spider
    (`inspect.getmembers`), for every request pushed, 4% of the crawl process's time. A
    request that will not pickle raises as in Scrapy's (ValueError, and the scheduler keeps
    it in memory)."""

    def push(self, request: Request) -> None:
        # past Scrapy's own push (which would call Request.to_dict) to the pickling queue
        super(PickleLifoDiskQueue, self).push(request_dict(request, self.spider))


class StartRequestDiskQueue(PickleFifoDiskQueue):  # type: ignore[valid-type,misc]
    """The same for start requests (a dead run's left-overs), in Scrapy's FIFO order."""

    def push(self, request: Request) -> None:
        super(PickleFifoDiskQueue, self).push(request_dict(request, self.spider))


def request_dict(request: Request, spider: Any) -> dict[str, Any]:
    """`request.to_dict(spider=spider)`, naming a callback that is a method of the spider
    by its name; anything else is left to Scrapy."""
    names = {}
    for role in ("callback", "errback"):
        func = getattr(request, role)
        if callable(func):
            name = getattr(func, "__name__", "")
            if getattr(func, "__self__", None) is not spider or getattr(spider, name, None) != func:
                return request.to_dict(spider=spider)
            func = name
        names[role] = func
    # Scrapy's own dict of everything else, with no callable left for it to look up
    return {**request.replace(callback=None, errback=None).to_dict(), **names}
