"""The recrawl policy, and the spider middleware that applies it: what a run fetches again,
decided from the catalogue alone.

An article already archived is fetched again only when its sitemap or feed date is newer
than what the last capture saw, when the profile's revisit interval has passed, when the
last attempt failed, or when the last capture was never finished (a run died
before its links were recorded). Hubs are fetched every run. Every request for a known
URL carries the validators of its last capture, so an unchanged page costs a 304. An
article's photo is fetched until it is archived, then never again.

Built in the style of scrapy-deltafetch: the spider yields every request it would make,
saying in `request.meta` what it knows of the URL; `RecrawlMiddleware` drops the
articles whose stored capture is current, adds validators to the rest, and puts every
URL it lets through in the frontier before Scrapy schedules it.

Setting
    RECRAWL_ENABLED  default True. False: every URL is fetched whole, as in a first run.
                     Failing URLs still back off and unfinished pages are still taken up
                     (crash safety, not policy), so the middleware stays in place.
Request meta the middleware reads
    kind          "hub": fetched every run, conditionally; "article": when the policy says;
                  "photo": until archived once (stats photos/requested, photos/skipped_<why>)
    left_over     a URL an earlier run left pending (a photo archived then is marked done)
    lastmod       the date a sitemap or feed gives the URL; listed_in: the sitemap listing it
    last_capture  the URL's last capture, if the spider looked it up already (None: none)
    recrawl       False opts a request out: it passes untouched (no look-up, no decision,
                  no validators, not put in the frontier). "vanished": an article its
                  sitemap lists no more, fetched (conditionally) to learn whether it is gone
Request meta it writes
    reason        why an article is fetched (new, lastmod, interval, retry, unfinished, forced)
    last_capture  the capture it decided from (the WARC extension decides revisits from it)
Stats
    recrawl/decision/<reason>  every decision on an article, fetched or not
    recrawl/conditional        requests sent with validators
    recrawl/vanished_from_sitemap, recrawl/opted_out

Requests are decided in batches, one catalogue query each (on the reader's thread, never
the reactor's): a batch is what a callback yields before it yields anything else (an
item, or DECIDE_NOW) or ends, DECIDE_AT_MOST requests at most. A callback that must act
only once its links are in the frontier (marking its page done) yields DECIDE_NOW first.
Requests a spider holds for a later callback (`requests_when_idle()`: sitemaps robots.txt
names) are decided and scheduled here when the crawl goes idle with no callback left to
carry them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self
from weakref import WeakKeyDictionary

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro

from crawler.archive import Archive
from crawler.bounded import BoundedDict
from crawler.cataloguereader import CatalogueReader
from crawler.config import setting
from crawler.frontier import frontier_of, push_after
from crawler.signals import wake
from crawler.statuses import temporary_failure
from storage.catalogue.frontier import CaptureState, Discovered, HeldBack
from storage.redisqueue.frontier import fingerprint

if TYPE_CHECKING:
    from scrapy.http import Response

logger = logging.getLogger(__name__)

DECIDE_AT_MOST = 500  # requests decided at once: one catalogue query, and a bounded batch
# URLs let through lately: bounded, however long the crawl (about 15 MB when full). A URL
# forgotten and linked again is looked up in the catalogue and decided again, only to be
# dropped: with 8,192, on a 20,000-article site (40,000 URLs with the photos) that was a
# quarter of the crawl process's CPU (2.6 ms a page against 1.9 for 2,000 articles).
REQUESTED_MEMORY = 65_536
_requested: WeakKeyDictionary[Crawler, BoundedDict[str, None]] = WeakKeyDictionary()


def requested_urls(crawler: Crawler) -> BoundedDict[str, None]:
    """The URLs the middleware let through lately, one set per crawl. The spider reads it
    too: a menu links the same articles on every page, and a request the middleware would
    drop at once is not worth making."""
    if crawler not in _requested:
        _requested[crawler] = BoundedDict(REQUESTED_MEMORY)
    return _requested[crawler]


@dataclass(frozen=True, slots=True)
class Decision:
    fetch: bool
    reason: str  # new, lastmod, interval, retry, unfinished, forced, unchanged, backoff, given_up
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RecrawlPolicy:
    revisit_interval: timedelta | None = None  # None: articles are fetched again only on a sign
    enabled: bool = True  # False: every URL is fetched whole, as in a first run

    def article(self, latest: CaptureState | None, lastmod: datetime | None,
                now: datetime, from_sitemap: bool = False, held: HeldBack | None = None) -> Decision:
        """Failures come first (a URL backing off waits whatever the settings; one given up
        is tried again only on a new sign), then crash safety (a capture whose page was
        never finished is fetched and finished whatever the settings), then the policy."""
        if held is not None:
            if held.gave_up_at is None:
                return Decision(False, "backoff", {})
            if lastmod is None or lastmod <= held.gave_up_at:
                return Decision(False, "given_up", {})
        if latest is None:
            return Decision(True, "new", {})
        if not latest.finished:
            return Decision(True, "unfinished", {})
        if not self.enabled:
            return Decision(True, "forced", {})
        headers = validators(latest)
        if temporary_failure(latest.status):
            return Decision(True, "retry", headers)
        if lastmod is not None and is_newer(lastmod, latest, from_sitemap):
            return Decision(True, "lastmod", headers)
        if self.revisit_interval is not None and now - latest.fetched_at >= self.revisit_interval:
            return Decision(True, "interval", headers)
        return Decision(False, "unchanged", {})

    @staticmethod
    def photo(latest: CaptureState | None, held: HeldBack | None = None) -> Decision:
        """An image URL names one image for good: once archived (or redirected, its target
        archived in turn) it is never fetched again, whatever the recrawl settings; a failing
        one backs off, and once given up stays so (no sign can say it came back)."""
        if held is not None:
            return Decision(False, "backoff" if held.gave_up_at is None else "given_up", {})
        if latest is not None and 200 <= latest.status < 400:  # a redirect: its target was taken
            return Decision(False, "known", {})
        return Decision(True, "new" if latest is None else "retry", {})

    def hub(self, latest: CaptureState | None) -> dict[str, str]:
        """Headers for a hub: always fetched, conditionally when its last copy was finished."""
        if not self.enabled or latest is None or not latest.finished:
            return {}
        return validators(latest)


def is_newer(lastmod: datetime, latest: CaptureState, from_sitemap: bool) -> bool:
    """The source says the page changed since the last capture saw it. A sitemap's lastmod
    is compared with the lastmod that sitemap gave before (the site's clock, not ours); a
    feed's date, or a sitemap's first word on a page, with the time of the last capture."""
    if from_sitemap and latest.listed_lastmod is not None:
        return lastmod > latest.listed_lastmod
    return lastmod > latest.fetched_at


def validators(latest: CaptureState) -> dict[str, str]:
    if latest.status not in (200, 203, 304):
        return {}
    headers = {}
    if latest.etag:
        headers["If-None-Match"] = latest.etag
    if latest.last_modified:
        headers["If-Modified-Since"] = latest.last_modified
    return headers


class DecideNow:
    """The type of DECIDE_NOW: yielded by a callback, it ends a batch (never passed on)."""

    def __repr__(self) -> str:
        return "DECIDE_NOW"


DECIDE_NOW = DecideNow()


class RecrawlMiddleware:
    """Spider middleware: decides on the requests of the start and of every callback."""

    def __init__(self, crawler: Crawler):
        spider = crawler.spider
        if spider is None:
            raise ValueError("RecrawlMiddleware is built for a crawler that has its spider")
        self.stats = crawler.stats
        self.archive = Archive.of(crawler)
        self.reader = CatalogueReader.of(crawler)
        recrawl = getattr(getattr(spider, "site", None), "recrawl", None)
        days = getattr(recrawl, "revisit_after_days", None)
        self.policy = RecrawlPolicy(revisit_interval=timedelta(days=days) if days else None,
                                    enabled=setting(crawler.settings, "RECRAWL_ENABLED", bool))
        # URLs let through lately: not handed to the scheduler again just to be dropped by
        # its dupefilter (which stays the authority on what was fetched), nor looked up
        self.requested = requested_urls(crawler)
        self._held: dict[str, HeldBack] | None = None  # read once, at the first batch
        # captures since then are this run's own (the spider's clock: its left-overs are older)
        self.run_started: datetime = getattr(spider, "started_at", None) or datetime.now(UTC)
        self.crawler = crawler
        self.frontier = frontier_of(crawler)  # a job shared with other workers, if any
        self._idle_work: Any = None  # the Deferred deciding what the spider held, if any
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def spider_idle(self, spider: Any) -> None:
        """Nothing left to fetch: what the spider still holds is decided and scheduled (the
        crawl stays open until that is done), never dropped."""
        if self._idle_work is None:
            held = getattr(spider, "requests_when_idle", list)()
            if not held:
                return
            self._idle_work = deferred_from_coro(self._schedule(held))
        raise DontCloseSpider

    async def _schedule(self, requests: list[Request]) -> None:
        try:
            for request in await self.decide(requests):
                self.crawler.engine.crawl(request)
        finally:
            self._idle_work = None
            wake(self.crawler.engine)  # none scheduled: the engine closes now, not on its heartbeat

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in self._in_batches(start):
            yield output

    async def process_spider_output(self, response: Response,
                                    result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in self._in_batches(result):
            yield output

    async def _in_batches(self, outputs: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The outputs in their order, requests held back until their batch is decided."""
        batch: list[Request] = []
        async for output in outputs:
            if isinstance(output, Request) and self._decides_on(output):
                batch.append(output)
                if len(batch) < DECIDE_AT_MOST:
                    continue
                output = DECIDE_NOW  # a sitemap's thousands are decided (and let go) in parts
            for request in await self.decide(batch):
                yield request
            batch = []
            if output is not DECIDE_NOW:
                yield output
        for request in await self.decide(batch):
            yield request

    def _decides_on(self, request: Request) -> bool:
        if request.meta.get("recrawl") is False:
            self.stats.inc_value("recrawl/opted_out")
            return False
        return request.meta.get("kind") in ("hub", "article", "photo")

    async def decide(self, batch: list[Request]) -> list[Request]:
        """The requests of `batch` to make (each URL once a run), with validators; they are
        put in the frontier before they are returned."""
        unique: dict[str, Request] = {}
        for request in batch:
            if request.url not in self.requested:
                unique.setdefault(request.url, request)
        if not unique:
            return []
        if self._held is None:  # failing URLs: backing off or given up
            self._held = await self.reader.held_back()
        latest = await self.reader.latest(
            url for url, request in unique.items() if "last_capture" not in request.meta)
        now, fetched, found = datetime.now(UTC), [], []
        for url, request in unique.items():
            if url in self.requested:  # let through for another callback while we waited
                continue
            last = request.meta["last_capture"] if "last_capture" in request.meta \
                else latest.get(url)
            if not self._fetch(request, last, now):
                continue
            self.requested[url] = None
            listed_in = request.meta.get("listed_in")
            # the frontier keeps what a sitemap said (a feed's date is a publication date)
            found.append(Discovered(url, listed_in,
                                    request.meta.get("lastmod") if listed_in else None,
                                    "photo" if request.meta.get("kind") == "photo" else None))
            fetched.append(request)
        if self.frontier is not None:
            fetched, found = await self._new_to_job(fetched, found)
        if found:
            remembered = self.archive.remember(found)
            if self.frontier is not None:
                for request in fetched:
                    push_after(request, remembered)
        return fetched

    async def _new_to_job(self, fetched: list[Request], found: list[Discovered]) -> tuple[
            list[Request], list[Discovered]]:
        """Leave out what another worker of the job queued already: putting it in the
        catalogue's frontier again could mark pending a page that worker has finished."""
        seen = await asyncio.to_thread(self.frontier.seen,  # type: ignore[union-attr]
                                       [fingerprint(request.url) for request in fetched])
        if any(seen):
            self.stats.inc_value("recrawl/queued_by_job", sum(seen))
        new = {request.url for request, queued in zip(fetched, seen, strict=True) if not queued}
        return [r for r in fetched if r.url in new], [d for d in found if d.url in new]

    def _fetch(self, request: Request, last: CaptureState | None, now: datetime) -> bool:
        """Whether to make `request`, given the URL's last capture: if so, it gets the
        validators and the decision's reason."""
        meta = request.meta
        meta["last_capture"] = last
        if last is not None and not last.finished and last.fetched_at >= self.run_started:
            # fetched by this run, its page still being processed: fetching it again would
            # only put it back in the frontier as pending after its page is done
            self.stats.inc_value("recrawl/decision/in_progress")
            return False
        if meta.get("kind") == "photo":
            return self._fetch_photo(request, last)
        if meta.get("kind") == "article" and meta.get("recrawl") != "vanished":
            lastmod = meta.get("lastmod")
            decision = self.policy.article(last, lastmod, now,
                                           from_sitemap=meta.get("listed_in") is not None,
                                           held=(self._held or {}).get(request.url))
            self.stats.inc_value(f"recrawl/decision/{decision.reason}")
            logger.debug("Recrawl decision for %s (lastmod %s): %s", request.url, lastmod,
                         decision.reason)
            if not decision.fetch:
                return False
            meta["reason"] = decision.reason
            headers = decision.headers
        else:  # hubs, and articles gone from their sitemap: every time, conditionally
            if meta.get("recrawl") == "vanished":
                self.stats.inc_value("recrawl/vanished_from_sitemap")
            headers = self.policy.hub(last)
        if headers:
            self.stats.inc_value("recrawl/conditional")
            request.headers.update(headers)
        return True

    def _fetch_photo(self, request: Request, last: CaptureState | None) -> bool:
        decision = self.policy.photo(last, (self._held or {}).get(request.url))
        if decision.fetch:
            self.stats.inc_value("photos/requested")
            request.meta["reason"] = decision.reason
            return True
        self.stats.inc_value(f"photos/skipped_{decision.reason}")
        if decision.reason == "known" and request.meta.get("left_over"):
            self.archive.mark_done(request.url)  # archived, its done mark lost with its run
        return False
