"""A crawl job shared by several worker processes through Redis (FRONTIER_URL).

Without FRONTIER_URL nothing here is used: a site is crawled by one process under its run
lock (crawler.extensions.runlock). With it, every `scrapy crawl <site>` joins the site's
running job (storage.redisqueue.frontier): the scheduler (crawler.frontier.scheduler) pushes the
requests the recrawl middleware decided to make to the shared queue and leases what it
fetches from there; the archive acknowledges each request once its outcome is committed
(crawler.archive). Recrawl decisions still come from the catalogue.

Settings: FRONTIER_URL (redis://host:port/db; "" = none), FRONTIER_LEASE (seconds a worker
may hold a request without renewing it), FRONTIER_MAX_TRIES (lease expiries before a
request is set aside for the job), FRONTIER_LEASE_BATCH (requests leased at a time),
FRONTIER_NAMESPACE (the keys' prefix: one per archive sharing a Redis server).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable
from storage.redisqueue.frontier import FrontierUnavailable, SharedFrontier

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

_frontiers: WeakKeyDictionary[Crawler, SharedFrontier] = WeakKeyDictionary()
# a request whose URL the catalogue's frontier does not hold yet: pushed once it does, so a
# worker that takes it and finishes it never has its done mark undone by that late write
_remembering: WeakKeyDictionary[Request, Future[Any]] = WeakKeyDictionary()


class FrontierRefused(Unusable):
    """FRONTIER_URL names no Redis this worker can use (exit status 1, nothing fetched)."""

    def __init__(self, error: FrontierUnavailable):
        super().__init__(f"{error}: nothing was fetched", ExitCode.FAILED)


def frontier_of(crawler: Crawler) -> SharedFrontier | None:
    """The crawl's shared frontier (None without FRONTIER_URL), connected once per crawl."""
    url = setting(crawler.settings, "FRONTIER_URL", str)
    if not url:
        return None
    if crawler not in _frontiers:
        try:
            _frontiers[crawler] = SharedFrontier.connect(
                url, crawler.spidercls.name,
                lease_seconds=setting(crawler.settings, "FRONTIER_LEASE", float),
                max_tries=setting(crawler.settings, "FRONTIER_MAX_TRIES", int),
                namespace=setting(crawler.settings, "FRONTIER_NAMESPACE", str))
        except FrontierUnavailable as error:
            raise FrontierRefused(error) from error
    return _frontiers[crawler]


def push_after(request: Request, remembered: Future[Any]) -> None:
    """Hold `request` back from the shared queue until the catalogue holds its URL."""
    _remembering[request] = remembered


def remembered(request: Request) -> bool:
    """Whether the catalogue holds the request's URL (or never had to)."""
    return remembering(request) is None


def remembering(request: Request) -> Future[Any] | None:
    """The write the request waits for before it is pushed, if it waits for one."""
    future = _remembering.get(request)
    return None if future is None or future.done() else future
