"""NewsSpider: finds every article of a VOV-style site, following only the site's own rules,
and fetches only what is new or changed since the catalogue last saw it.

Discovery paths, all from the site profile: robots.txt `Sitemap:` lines, the sitemap
index and its monthly sitemaps (plus the current month's, which the index lists only
once the month ends), RSS/Atom feeds, and category pages with `?page=N` pagination.
Only URLs matching the profile's article pattern are parsed as articles; everything
else a page links to is ignored, so calendars, search and print pages never trap it.
Every request is made for a canonical URL, so each page is fetched once.

What to fetch again is decided from the catalogue (crawler.middlewares.recrawl): hubs every run,
conditionally; articles when a sign says they changed. Every URL the run decides to
fetch is put in the frontier first and marked processed only after its page and links
are recorded, so what a killed run left unfinished is taken up by the next one.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree
from scrapy import Request, Spider, signals
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.sitemap import Sitemap

from crawler.archive import Archive
from crawler.bounded import BoundedDict
from crawler.challenges import ChallengeCounter
from crawler.extensions.warc import capture_of
from crawler.fetchfailures import failure_of
from crawler.items import ArticlePage
from crawler.middlewares.recrawl import CatalogueReader, RecrawlPolicy
from crawler.middlewares.urlguard import Refused, url_limit, url_refusal
from storage.catalogue.crawlstate import CaptureState, Discovered, FetchFailure, HeldBack
from storage.dates import DateRefused, read_date

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7))
HUB_PRIORITY = 10  # discover first, so article requests are known early
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit
CANONICAL_CACHE_SIZE = 50_000  # bounded: memory stays flat however long the crawl


@dataclass(frozen=True, slots=True)
class Link:
    """A link found on a hub or article, with what the source said of it."""

    url: str
    lastmod: datetime | None = None
    listed_in: str | None = None  # the sitemap that lists it


class NewsSpider(Spider):
    name = "news"
    profile: ClassVar[SiteProfile]  # set by crawler.spiderloader.ProfileSpiderLoader

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if profile := getattr(cls, "profile", None):
            settings.setdict(profile.politeness.scrapy_settings(), priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.archive = Archive.of(crawler)
        spider.archive.blocking = spider.site.blocking
        spider.challenges = ChallengeCounter(spider.site.blocking)
        spider.reader = CatalogueReader(spider.archive.sessions, spider.name)
        spider.policy = RecrawlPolicy(
            revisit_interval=_days(spider.site.recrawl.revisit_after_days),
            enabled=crawler.settings.getbool("RECRAWL_ENABLED", True),
        )
        spider.url_limit = url_limit(crawler.settings)
        spider.max_listing_pages = (crawler.settings.getint("LISTING_MAX_PAGES")
                                    or spider.site.discovery.max_category_pages)
        # With the extraction pipeline on, it marks article pages processed (after filing).
        spider.extracting = any(path.endswith("ExtractPipeline") for path, order in
                                crawler.settings.getwithbase("ITEM_PIPELINES").items()
                                if order is not None)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider.reader.close, signal=signals.spider_closed)
        return spider

    def __init__(self, *args: Any, origin: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.site: SiteProfile = self.profile.at_origin(origin) if origin else self.profile
        self.allowed_domains = [*self.site.hosts, self.site.origin_host]
        # a mirror crawl never leaves the mirror (crawler.middlewares.urlguard refuses other hosts)
        self.mirror_host = self.site.origin_host if origin else None
        # Menus and sidebars repeat the same links on every page: remember what they become.
        self.canonical = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self._canonical)
        self.is_article = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self.site.is_article)
        # URLs asked for lately: not handed to the scheduler again just to be dropped by
        # its dupefilter (which stays the authority on what was fetched).
        self.requested: BoundedDict[str, None] = BoundedDict(CANONICAL_CACHE_SIZE)
        self.held: dict[str, HeldBack] = {}  # read from the catalogue when the run starts

    def _canonical(self, link: str) -> str | None:
        """The URL to fetch for a link, or None: not ours to follow, or one the catalogue
        cannot hold (refused here, before it enters the frontier)."""
        url = self.site.canonical(link)
        if url is not None and (refusal := url_refusal(url, self.url_limit)):
            self.crawler.stats.inc_value(f"discovery/refused/{refusal}")
            logger.warning("Not following %s...: %s", url[:200], refusal)
            return None
        return url

    def date(self, text: str | None, source: str) -> datetime | None:
        """A date a sitemap or feed gives, by the one date rule; refused ones are counted and
        logged with the reason, never raised."""
        try:
            return read_date(text, self.site.zone)
        except DateRefused as refused:
            self.crawler.stats.inc_value("discovery/refused_dates")
            logger.warning("Ignoring a date of %s: %s", source, refused)
            return None

    # ---- seeds --------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        self.started_at = datetime.now(UTC)
        self.held = await self.reader.held_back()  # failing URLs: backing off or given up
        discovery = self.site.discovery
        sitemaps = [*discovery.sitemaps]
        if discovery.monthly_sitemap:
            sitemaps.append(self.current_month_sitemap())
        hubs = [(path, self.parse_sitemap) for path in sitemaps]
        hubs += [(path, self.parse_feed) for path in discovery.feeds]
        hubs += [(path, self.parse_category) for path in discovery.categories]
        for request in await self.hub_requests(
                [(self.site.absolute(path), callback) for path, callback in hubs]):
            yield request
        for request in await self.left_over_requests():
            yield request

    async def left_over_requests(self) -> list[Request]:
        """What earlier runs decided to fetch and never finished: articles, and hubs (a
        listing page never read hides the articles only it links to)."""
        left_over = await self.reader.pending(before=self.started_at)
        if left_over:
            logger.info("Taking up %d URLs an earlier run did not finish", len(left_over))
            self.crawler.stats.set_value("recrawl/left_over", len(left_over))
        articles = [Link(d.url, d.lastmod, d.listed_in) for d in left_over if self.is_article(d.url)]
        requests = await self.article_requests(articles, "left_over")
        for hub in (d.url for d in left_over if not self.is_article(d.url)):
            requests += await self.left_over_hub(hub)
        return requests

    async def left_over_hub(self, url: str) -> list[Request]:
        """A hub's callback, told by the profile: a feed, a category page, else a sitemap."""
        discovery, parts = self.site.discovery, urlsplit(url)
        if parts.path in discovery.feeds:
            return await self.hub_requests([(url, self.parse_feed)])
        if parts.path in discovery.categories:
            query = dict(parse_qsl(parts.query))
            page = query.get(discovery.pagination_parameter, "0")
            category = with_query_parameter(url, discovery.pagination_parameter, 0)
            return await self.category_page(category, int(page) if page.isdigit() else 0,
                                            frozenset(), resume=True)
        return await self.hub_requests([(url, self.parse_sitemap)])

    def current_month_sitemap(self) -> str:
        now = datetime.now(VIETNAM_TIME)
        return self.site.discovery.monthly_sitemap.format(year=now.year, month=now.month)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """robots.txt is fetched once, by Scrapy's middleware: take its Sitemap lines from there."""
        if self.site.discovery.sitemaps_from_robots:
            urls = getattr(getattr(robotparser, "rp", None), "sitemaps", ())
            deferred_from_coro(self._crawl_hubs([(url, self.parse_sitemap) for url in urls]))

    async def _crawl_hubs(self, hubs: list[tuple[str, Any]]) -> None:
        for request in await self.hub_requests(hubs):
            self.crawler.engine.crawl(request)

    # ---- requests -----------------------------------------------------------------------

    async def hub_requests(self, hubs: list[tuple[str, Any]], **meta: Any) -> list[Request]:
        """Hubs are fetched every run, with their last capture's validators."""
        wanted = [(url, callback) for link, callback in hubs
                  if (url := self.canonical(link)) and url not in self.requested]
        latest = await self.reader.latest(url for url, _ in wanted)
        requests = []
        for url, callback in wanted:
            self.requested[url] = None
            requests.append(Request(url, callback=callback, errback=self.fetch_failed,
                                    priority=HUB_PRIORITY, headers=self.policy.hub(latest.get(url)),
                                    meta={"kind": "hub", "last_capture": latest.get(url), **meta}))
        self.archive.remember([Discovered(r.url) for r in requests])
        return requests

    async def category_page(self, url: str, page: int, previous: frozenset[str],
                            resume: bool = False) -> list[Request]:
        page_url = with_query_parameter(url, self.site.discovery.pagination_parameter, page)
        return await self.hub_requests([(page_url, self.parse_category)],
                                       category=url, page=page, previous=previous, resume=resume)

    async def article_requests(self, links: Iterable[Link], source: str,
                               known: dict[str, CaptureState] | None = None) -> list[Request]:
        """Requests for the links that are articles the catalogue says to fetch (`known`:
        their last captures, when the caller has looked them up already)."""
        candidates: dict[str, Link] = {}
        for link in links:
            url = self.canonical(link.url)
            if url is None or not self.is_article(url):
                self.crawler.stats.inc_value(f"discovery/ignored/{source}")
                continue
            self.crawler.stats.inc_value(f"discovery/articles/{source}")
            if url not in self.requested and url not in candidates:
                candidates[url] = Link(url, link.lastmod, link.listed_in)
        latest = known if known is not None else await self.reader.latest(candidates)
        now, requests, found = datetime.now(UTC), [], []
        for url, link in candidates.items():
            if url in self.requested:  # asked for by another callback while we waited
                continue
            decision = self.policy.article(latest.get(url), link.lastmod, now,
                                           from_sitemap=link.listed_in is not None,
                                           held=self.held.get(url))
            self.crawler.stats.inc_value(f"recrawl/decision/{decision.reason}")
            logger.debug("Recrawl decision for %s (%s, lastmod %s): %s", url, source,
                         link.lastmod, decision.reason)
            if not decision.fetch:
                continue
            self.requested[url] = None
            # the frontier keeps what a sitemap said (a feed's date is a publication date)
            found.append(Discovered(url, link.listed_in,
                                    link.lastmod if link.listed_in else None))
            meta = {"kind": "article", "lastmod": link.lastmod, "reason": decision.reason,
                    "last_capture": latest.get(url)}
            requests.append(Request(url, callback=self.parse_article, errback=self.fetch_failed,
                                    headers=decision.headers, meta=meta))
        self.archive.remember(found)
        return requests

    def processed(self, response: Response, page: bool = True) -> None:
        """Queued after everything the page led to: only then is it done for the frontier
        (and so are the URLs that redirected to it, by HTTP, meta refresh or script).
        `page=False`: only those, the page itself being marked by the pipeline once filed."""
        urls = list(response.meta.get("redirect_urls", ()))
        if page:
            urls.append(response.request.url if response.request else response.url)
        for url in urls:
            self.archive.mark_done(url)

    def fetch_failed(self, failure: Failure) -> None:
        """A request that brought no page to parse (a 5xx after Scrapy's retries, a network
        error, a refusal): its URL backs off, or is given up, with the reason recorded."""
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if response is not None and self.challenged(response):  # a 403/503 challenge page
            return
        failed = failure_of(failure.value)
        if failed is None:  # a 3xx or 4xx answer: archived, and final already
            return
        # a redirect target we refuse to fetch is the failure of the link that led to it; any
        # other failure is the target's own (the redirect itself was archived and is done)
        url = (request.meta.get("redirect_urls") or [request.url])[0] \
            if isinstance(failure.value, Refused) else request.url
        self.crawler.stats.inc_value(f"fetch/failed/{failed.reason}")
        logger.warning("Fetching %s failed (%s)%s", request.url[:300], failed.reason,
                       "" if failed.retry else ": not trying again")
        self.archive.failed(failed.of(url))

    def challenged(self, response: Response) -> bool:
        """Whether the site answered with a bot challenge instead of the page: then the URL
        is tried again later (the archive catalogues the answer as blocked), and a run
        that gets mostly challenges stops, saying so."""
        marker = self.site.blocking.marker_in(response.body, response.status)
        stop = self.challenges.saw(marker is not None)
        if marker is None:
            return False
        self.crawler.stats.inc_value("blocked/challenges")
        logger.warning("%s answered with a bot challenge (%s): will try again later",
                       response.url, marker)
        url = (response.meta.get("redirect_urls") or [response.request.url])[0]
        self.archive.failed(FetchFailure(url, "blocked", retry=True, may_give_up=False))
        if stop:
            self.stop_blocked()
        return True

    def stop_blocked(self) -> None:
        counter = self.challenges
        message = (f"{self.site.origin_host} is answering with a bot challenge ({counter.challenges} "
                   f"of {counter.responses} responses): stopped early. Nothing is lost (the "
                   "challenged URLs are tried again next run); crawl later, more slowly "
                   "(-s DOWNLOAD_DELAY=...), or from another address")
        logger.error(message)
        self.crawler.stats.set_value("bot_challenge/message", message)
        if self.crawler.engine is not None and self.crawler.engine.running:
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="bot_challenge"))

    # ---- callbacks ----------------------------------------------------------------------

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Request]:
        if self.challenged(response):
            return
        body = sitemap_body(response)
        if body is None:
            logger.warning("Not a sitemap (or over %d bytes): %s", MAX_SITEMAP_BYTES, response.url)
            self.crawler.stats.inc_value("discovery/bad_sitemap")
            self.processed(response)
            return
        sitemap = Sitemap(body)
        entries = [(entry["loc"], self.date(entry.get("lastmod"), response.url))
                   for entry in sitemap]
        if sitemap.type == "sitemapindex":
            requests = await self.hub_requests([(loc, self.parse_sitemap) for loc, _ in entries])
        else:
            links = [Link(loc, lastmod, response.url) for loc, lastmod in entries]
            requests = await self.article_requests(links, "sitemap")
            listed = [(url, link.lastmod) for link in links if (url := self.canonical(link.url))]
            self.archive.relist(listed, response.url)
            requests += await self.vanished_requests(response.url, links)
        for request in requests:
            yield request
        self.processed(response)

    async def vanished_requests(self, sitemap_url: str, links: list[Link]) -> list[Request]:
        """Articles this sitemap listed before and lists no more: ask whether they are gone."""
        listed = {url for link in links if (url := self.canonical(link.url))}
        vanished = sorted(await self.reader.listed_in(sitemap_url) - listed - set(self.requested))
        latest = await self.reader.latest(vanished)
        self.crawler.stats.inc_value("recrawl/vanished_from_sitemap", len(vanished))
        requests = []
        for url in vanished:
            self.requested[url] = None
            headers = self.policy.hub(latest.get(url))
            requests.append(Request(url, callback=self.parse_article, errback=self.fetch_failed,
                                    headers=headers,
                                    meta={"kind": "article", "last_capture": latest.get(url)}))
        self.archive.remember([Discovered(url) for url in vanished])
        return requests

    async def parse_feed(self, response: Response) -> AsyncIterator[Request]:
        if self.challenged(response):
            return
        links = [Link(url, self.date(date, response.url)) for url, date in feed_links(response.body)]
        for request in await self.article_requests(links, "feed"):
            yield request
        self.processed(response)

    async def parse_category(self, response: Response) -> AsyncIterator[Request]:
        """A listing page. The next page is read only while this one lists an article the
        catalogue did not know before this run (a daily run reads a page or two, not
        hundreds), or when this page was left unread by a dead run (its next page never
        was read either); never when it repeats the page before (a site ignoring ?page=N)."""
        if self.challenged(response):
            return
        links = self.article_links(response)
        latest = await self.reader.latest(links)
        for request in await self.article_requests([Link(url) for url in links], "category", latest):
            yield request
        page, listed = response.meta.get("page", 0), frozenset(links)
        new = [url for url in links if url not in latest or latest[url].fetched_at >= self.started_at]
        self.crawler.stats.inc_value("discovery/listing_pages")
        go_on = new or response.meta.get("resume")
        if go_on and listed and listed != response.meta.get("previous") and \
                page < self.max_listing_pages:
            category = response.meta.get("category", response.url)
            for request in await self.category_page(category, page + 1, listed):
                yield request
        self.processed(response)

    async def parse_article(self, response: Response) -> AsyncIterator[ArticlePage | Request]:
        """Links first, then the page: the pipeline marks the page processed once its text
        is filed, and by then the links must be in the frontier already."""
        if self.challenged(response):
            return
        if self.site.discovery.follow_links_in_articles:
            links = [Link(url) for url in self.article_links(response)]
            for request in await self.article_requests(links, "article"):
                yield request
        capture = capture_of(self.crawler, response)  # None only when archiving is switched off
        yield ArticlePage(
            url=response.url,
            status=response.status,
            body=response.body,
            content_type=header(response, b"Content-Type"),
            capture=capture,
            fetched_at=capture.fetched_at if capture else datetime.now(UTC),
            source_lastmod=response.meta.get("lastmod"),
            # a page a dead run fetched but never finished is extracted even if unchanged
            extract_unchanged=response.meta.get("reason") == "unfinished",
        )
        self.processed(response, page=not self.extracting)

    def article_links(self, response: Response) -> list[str]:
        """The page's links to articles, canonical, each once, in page order."""
        if not isinstance(response, TextResponse):
            return []
        hrefs = dict.fromkeys(response.xpath("//a/@href").getall())
        links = (self.canonical(response.urljoin(href)) for href in hrefs)
        return list(dict.fromkeys(url for url in links if url and self.is_article(url)))


def _days(days: float | None) -> timedelta | None:
    return timedelta(days=days) if days else None


def with_query_parameter(url: str, name: str, value: int) -> str:
    """`url` with `name=value` (the first page, 0, is the URL without the parameter)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    if value:
        query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def sitemap_body(response: Response) -> bytes | None:
    body = response.body
    if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                body = stream.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError):
            return None
    if len(body) > MAX_SITEMAP_BYTES or b"<" not in body[:1024]:
        return None
    return body


def feed_links(body: bytes) -> list[tuple[str, str | None]]:
    """(link, date as written) of every RSS item and Atom entry in a feed."""
    try:
        root = etree.fromstring(body, etree.XMLParser(recover=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    links: list[tuple[str, str | None]] = []
    for item in root.iter("item"):
        links.append((item.findtext("link") or "", item.findtext("pubDate")))
    for entry in root.iter("{http://www.w3.org/2005/Atom}entry"):
        link = entry.find("{http://www.w3.org/2005/Atom}link")
        updated = entry.findtext("{http://www.w3.org/2005/Atom}updated")
        links.append((link.get("href", "") if link is not None else "", updated))
    return [(link.strip(), date) for link, date in links if link.strip()]
