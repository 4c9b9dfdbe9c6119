"""NewsSpider: finds every article of a VOV-style site, following only the site's own rules,
and fetches only what is new or changed since the catalogue last saw it.

Discovery paths, all from the site profile: robots.txt `Sitemap:` lines, the sitemap
index and its monthly sitemaps (plus the current month's, which the index lists only
once the month ends), RSS/Atom feeds, and category pages with `?page=N` pagination.
Only URLs matching the profile's article pattern are parsed as articles; everything
else a page links to is ignored, so calendars, search and print pages never trap it.
Every request is made for a canonical URL, so each page is fetched once.
An article's own photos (the profile's `[extract] images`, on its hosts or `[photos] hosts`)
are requested too, as kind "photo": archived like any exchange, never parsed, fetched until
archived once (setting PHOTOS_ENABLED, else the profile's `[photos] enabled`).

The spider yields every request it would make, saying in `request.meta` what it knows of
the URL (kind, lastmod, the sitemap listing it); what to fetch again is decided from the
catalogue by crawler.middlewares.recrawl.RecrawlMiddleware: hubs every run, conditionally;
articles when a sign says they changed. That middleware puts every URL it lets through in
the frontier; the spider marks a page done only after its links are there (it yields
DECIDE_NOW first), so what a killed run left unfinished is taken up by the next one.
`scrapy parse URL` calls `parse`, which hands the page to the callback its profile gives it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import parse_qsl, urljoin, urlsplit

from lxml import etree
from parsel import Selector
from scrapy import Request, Spider, signals
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.response import get_base_url
from scrapy.utils.sitemap import Sitemap

from crawler.archive import Archive
from crawler.cataloguereader import CatalogueReader
from crawler.challenges import ChallengeCounter
from crawler.config import setting
from crawler.extensions.warc import capture_of
from crawler.fetchfailures import failure_of
from crawler.items import ArticlePage
from crawler.middlewares.recrawl import DECIDE_NOW, requested_urls
from crawler.middlewares.urlguard import Refused, url_limit, url_refusal
from crawler.spiders.hubs import MAX_SITEMAP_BYTES, Link, feed_links, sitemap_body
from crawler.statuses import final_answer, final_for_a_photo
from crawler.urls import with_query_parameter
from storage.catalogue.frontier import CaptureState, FetchFailure
from storage.dates import DateRefused, read_date

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7))
HUB_PRIORITY = 10  # discover first, so article requests are known early
# Bounded: memory stays flat however long the crawl. Menus, sidebars and footers repeat a few
# hundred links on every page; a URL met once (a sitemap's) gains nothing from a cache.
LINK_CACHE_SIZE = 4096
HREFS = etree.XPath("//a/@href", smart_strings=False)  # plain strings: no element kept alive


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
        spider.reader = CatalogueReader.of(crawler)
        spider.requested = requested_urls(crawler)
        spider.url_limit = url_limit(crawler.settings)
        spider.max_listing_pages = (setting(crawler.settings, "DISCOVERY_MAX_LISTING_PAGES", int)
                                    or spider.site.discovery.max_category_pages)
        # With the extraction pipeline on, it marks article pages done (after filing).
        spider.extracting = any(path.endswith("ExtractPipeline") for path, order in
                                crawler.settings.getwithbase("ITEM_PIPELINES").items()
                                if order is not None)
        spider.photos = photos_enabled(crawler.settings, spider.site)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    def __init__(self, *args: Any, origin: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.site: SiteProfile = self.profile.at_origin(origin) if origin else self.profile
        self.allowed_domains = [*self.site.hosts, self.site.origin_host, *self.site.photos.hosts]
        # a mirror crawl never leaves the mirror (crawler.middlewares.urlguard refuses other hosts)
        self.mirror_host = self.site.origin_host if origin else None
        # Menus and sidebars repeat the same links on every page: remember what they become.
        self.canonical = lru_cache(maxsize=LINK_CACHE_SIZE)(self._canonical)
        self.is_article = lru_cache(maxsize=LINK_CACHE_SIZE)(self.site.is_article)
        self._article_of_link = lru_cache(maxsize=LINK_CACHE_SIZE)(self._article_of)
        self.started_at = datetime.now(UTC)
        # True once `start` runs: a crawl discovers; `scrapy parse` fetches only what it is asked
        self.discovering = False
        self.photos = self.site.photos.enabled  # and PHOTOS_ENABLED (from_crawler)
        self.from_robots: list[str] = []  # sitemaps robots.txt names, for the next callback

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
        self.discovering = True
        discovery = self.site.discovery
        sitemaps = [*discovery.sitemaps]
        if discovery.monthly_sitemap:
            sitemaps.append(self.current_month_sitemap())
        hubs = [(path, self.parse_sitemap) for path in sitemaps]
        hubs += [(path, self.parse_feed) for path in discovery.feeds]
        hubs += [(path, self.parse_category) for path in discovery.categories]
        for request in self.hub_requests(
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
        photos = [d.url for d in left_over if d.kind == "photo"]
        pages = [d for d in left_over if d.kind != "photo"]
        articles = [Link(d.url, d.lastmod, d.listed_in) for d in pages if self.is_article(d.url)]
        requests = self.article_requests(articles, "left_over")
        for hub in (d.url for d in pages if not self.is_article(d.url)):
            requests += self.left_over_hub(hub)
        if self.photos:
            requests += [self.photo_request(url, left_over=True) for url in photos]
        return requests

    def left_over_hub(self, url: str) -> list[Request]:
        """A hub, with the callback its profile gives it (a category page resumes)."""
        callback = self.callback_for(url)
        if callback == self.parse_category:
            category, page = self.category_of(url)
            return self.category_page(category, page, "", resume=True)
        return self.hub_requests([(url, callback)])

    def callback_for(self, url: str) -> Callable[[Response], AsyncIterator[Any]]:
        """What the profile says a URL is: an article, a feed, a category page, else a sitemap
        (the only other hubs the spider requests)."""
        if self.is_article(url):
            return self.parse_article
        path, discovery = urlsplit(url).path, self.site.discovery
        if path in discovery.feeds:
            return self.parse_feed
        if path in discovery.categories:
            return self.parse_category
        return self.parse_sitemap

    def category_of(self, url: str) -> tuple[str, int]:
        """A category listing page's first page, and its own page number."""
        parameter = self.site.discovery.pagination_parameter
        page = dict(parse_qsl(urlsplit(url).query)).get(parameter, "0")
        return with_query_parameter(url, parameter, 0), int(page) if page.isdigit() else 0

    def current_month_sitemap(self) -> str:
        now = datetime.now(VIETNAM_TIME)
        return self.site.discovery.monthly_sitemap.format(year=now.year, month=now.month)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """robots.txt is fetched once, by Scrapy's middleware, before any page: its Sitemap
        lines are taken from there and requested by the next callback (so that the recrawl
        middleware sees them), in a crawl only: `scrapy parse` follows nothing."""
        if self.discovering and self.site.discovery.sitemaps_from_robots:
            self.from_robots += getattr(getattr(robotparser, "rp", None), "sitemaps", None) or ()

    def robots_sitemaps(self) -> list[Request]:
        urls, self.from_robots = self.from_robots, []
        return self.hub_requests([(url, self.parse_sitemap) for url in urls])

    def requests_when_idle(self) -> list[Request]:
        """What no callback took up (every request after robots.txt failed): the recrawl
        middleware decides on it when the crawl goes idle."""
        return self.robots_sitemaps()

    # ---- requests -----------------------------------------------------------------------

    def hub_requests(self, hubs: list[tuple[str, Any]], **meta: Any) -> list[Request]:
        """Hubs: fetched every run (conditionally, the recrawl middleware sees to that)."""
        urls = dict.fromkeys((url, callback) for link, callback in hubs
                             if (url := self.canonical(link)))
        return [Request(url, callback=callback, errback=self.fetch_failed, priority=HUB_PRIORITY,
                        meta={"kind": "hub", **meta}) for url, callback in urls]

    def category_page(self, url: str, page: int, previous: str,
                      resume: bool = False) -> list[Request]:
        """`previous`: the listing_digest of the page before (a site ignoring ?page=N repeats it)."""
        page_url = with_query_parameter(url, self.site.discovery.pagination_parameter, page)
        return self.hub_requests([(page_url, self.parse_category)],
                                 category=url, page=page, previous=previous, resume=resume)

    def article_requests(self, links: Iterable[Link], source: str,
                         known: dict[str, CaptureState] | None = None) -> list[Request]:
        """Requests for the links that are articles, each once, for the recrawl middleware
        to decide on (`known`: their last captures, when the caller looked them up); none
        for those it let through already this run."""
        return list(self.lazy_article_requests(links, source, known))

    def lazy_article_requests(self, links: Iterable[Link], source: str,
                              known: dict[str, CaptureState] | None = None) -> Iterator[Request]:
        """`article_requests`, each built when it is taken: a sitemap's thousands of requests
        are never all in memory at once."""
        candidates: dict[str, Link] = {}
        ignored = 0
        for link in links:
            url = self.canonical(link.url)
            if url is None or not self.is_article(url):
                ignored += 1
                continue
            candidates.setdefault(url, Link(url, link.lastmod, link.listed_in))
        stats = self.crawler.stats
        if ignored:
            stats.inc_value(f"discovery/ignored/{source}", ignored)
        if candidates:
            stats.inc_value(f"discovery/articles/{source}", len(candidates))
        for url, link in candidates.items():
            if url in self.requested:
                continue
            meta = {"kind": "article", "lastmod": link.lastmod, "listed_in": link.listed_in}
            if known is not None:
                meta["last_capture"] = known.get(url)
            yield Request(url, callback=self.parse_article, errback=self.fetch_failed, meta=meta)

    def photo_requests(self, response: Response, page: Selector) -> list[Request]:
        """The article's own images (the profile's `images` selectors), each once: from the
        site's hosts and the profile's photo hosts only."""
        requests, stats = [], self.crawler.stats
        for src in dict.fromkeys(image_sources(page, self.site.extract.images)):
            url = self.site.photo_url(response.urljoin(src))
            if url is None:
                reason = "refused_host" if urlsplit(src).scheme in ("", "http", "https") \
                    else "not_http"
                stats.inc_value(f"photos/{reason}")
                logger.debug("Not fetching the image %s of %s: %s", src[:200], response.url, reason)
                continue
            if refusal := url_refusal(url, self.url_limit):
                stats.inc_value(f"photos/refused/{refusal}")
                continue
            stats.inc_value("photos/found")
            requests.append(self.photo_request(url))
        return requests

    def photo_request(self, url: str, **meta: Any) -> Request:
        """An image: fetched like a page (robots.txt of its host, throttling, User-Agent), never
        extracted nor followed; the recrawl middleware fetches it until it is archived once."""
        return Request(url, callback=self.parse_photo, errback=self.photo_failed,
                       meta={"kind": "photo", **meta})

    def mark_done(self, response: Response, page: bool = True) -> None:
        """The page is done for the frontier, and so are the URLs that redirected to it (by
        HTTP, meta refresh or script): called once its links are in the frontier.
        `page=False`: only those, the page itself being marked by the pipeline once filed."""
        urls = list(response.meta.get("redirect_urls", ()))
        if page:
            urls.append(response.request.url if response.request else response.url)
        for url in urls:
            self.archive.mark_done(url)

    def fetch_failed(self, failure: Failure, final: Callable[[int], bool] = final_answer) -> None:
        """A request that brought no page to parse (a 5xx after Scrapy's retries, a network
        error, a refusal): its URL backs off, or is given up, with the reason recorded."""
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        if response is not None and self.challenged(response):  # a 403/503 challenge page
            return
        failed = failure_of(failure.value, final)
        if failed is None:  # a 3xx or 4xx answer: archived, and final already
            return
        # a redirect target we refuse to fetch is the failure of the link that led to it; any
        # other failure is the target's own (the redirect itself was archived and is done)
        url = (request.meta.get("redirect_urls") or [request.url])[0] \
            if isinstance(failure.value, Refused) else request.url
        self.crawler.stats.inc_value(f"fetch/failed/{failed.reason}")
        logger.warning("Fetching %s failed (%s)%s", request.url[:300], failed.reason,
                       "" if failed.retry else ": not trying again")
        recorded = self.archive.failed(failed.of(url))
        if url != request.url:  # a shared job is done with the target: the link's failure is recorded
            self.archive.settle_when(recorded, request.url)

    def photo_failed(self, failure: Failure) -> None:
        """A photo that brought no image: a 4xx is a failure too, so it backs off, then is
        given up (crawler.fetchfailures.final_for_a_photo)."""
        self.crawler.stats.inc_value("photos/failed")
        self.fetch_failed(failure, final_for_a_photo)

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
        recorded = self.archive.failed(FetchFailure(url, "blocked", retry=True, may_give_up=False))
        if response.request is not None and url != response.request.url:  # the link is tried again
            self.archive.settle_when(recorded, response.request.url)
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

    async def parse(self, response: Response, **kwargs: Any) -> AsyncIterator[Any]:
        """The callback of a request that names none (`scrapy parse URL`): the one the
        profile gives the URL."""
        async for output in self.callback_for(response.url)(response):
            if output is not DECIDE_NOW:  # `scrapy parse` reads the output itself
                yield output

    async def parse_sitemap(self, response: Response) -> AsyncIterator[Any]:
        if self.challenged(response):
            return
        requests: Iterable[Request] = self.robots_sitemaps()
        listed = None
        body = sitemap_body(response.body)
        if body is None:
            logger.warning("Not a sitemap (or over %d bytes): %s", MAX_SITEMAP_BYTES, response.url)
            self.crawler.stats.inc_value("discovery/bad_sitemap")
        else:
            found, listed = await self.sitemap_requests(response.url, Sitemap(body))
            requests = chain(requests, found)
        for request in requests:  # built as they are taken: a sitemap lists thousands
            yield request
        yield DECIDE_NOW
        if listed is not None:  # only now: the decisions compare with what it listed before
            self.archive.relist(listed, response.url)
        self.mark_done(response)

    async def sitemap_requests(self, url: str, sitemap: Sitemap) -> tuple[
            Iterable[Request], list[tuple[str, datetime | None]] | None]:
        """A sitemap index's sitemaps; or a sitemap's articles and those it listed before
        (and what it lists now, with the lastmods)."""
        entries = [(entry["loc"], self.date(entry.get("lastmod"), url)) for entry in sitemap]
        if sitemap.type == "sitemapindex":
            return self.hub_requests([(loc, self.parse_sitemap) for loc, _ in entries]), None
        links = [Link(loc, lastmod, url) for loc, lastmod in entries]
        listed = [(canonical, link.lastmod) for link in links
                  if (canonical := self.canonical(link.url))]
        vanished = await self.vanished_requests(url, {canonical for canonical, _ in listed})
        return chain(self.lazy_article_requests(links, "sitemap"), vanished), listed

    async def vanished_requests(self, sitemap_url: str, listed: set[str]) -> list[Request]:
        """Articles this sitemap listed before and lists no more: ask whether they are gone."""
        vanished = sorted(await self.reader.listed_in(sitemap_url) - listed)
        return [Request(url, callback=self.parse_article, errback=self.fetch_failed,
                        meta={"kind": "article", "recrawl": "vanished"}) for url in vanished]

    async def parse_feed(self, response: Response) -> AsyncIterator[Any]:
        if self.challenged(response):
            return
        links = [Link(url, self.date(date, response.url)) for url, date in feed_links(response.body)]
        for request in self.robots_sitemaps() + self.article_requests(links, "feed"):
            yield request
        yield DECIDE_NOW
        self.mark_done(response)

    async def parse_category(self, response: Response) -> AsyncIterator[Any]:
        """A listing page. The next page is read only while this one lists an article the
        catalogue did not know before this run (a daily run reads a page or two, not
        hundreds), or when this page was left unread by a dead run (its next page never
        was read either); never when it repeats the page before (a site ignoring ?page=N)."""
        if self.challenged(response):
            return
        links = self.article_links(response, parsed(response))
        latest = await self.reader.latest(links)
        for request in self.robots_sitemaps() + self.article_requests(
                [Link(url) for url in links], "category", latest):
            yield request
        category, page = self.category_of(response.url)
        category, page = response.meta.get("category", category), response.meta.get("page", page)
        listed = listing_digest(links)
        new = [url for url in links if url not in latest or latest[url].fetched_at >= self.started_at]
        self.crawler.stats.inc_value("discovery/listing_pages")
        go_on = new or response.meta.get("resume")
        if go_on and links and listed != response.meta.get("previous") and \
                page < self.max_listing_pages:
            for request in self.category_page(category, page + 1, listed):
                yield request
        yield DECIDE_NOW
        self.mark_done(response)

    async def parse_article(self, response: Response) -> AsyncIterator[ArticlePage | Request]:
        """Links first, then the page: the pipeline marks the page done once its text
        is filed, and by then the links must be in the frontier already."""
        if self.challenged(response):
            return
        requests = self.robots_sitemaps()
        page = parsed(response)
        if self.site.discovery.follow_links_in_articles:
            requests += self.article_requests(
                [Link(url) for url in self.article_links(response, page)], "article")
        if self.photos and page is not None:
            requests += self.photo_requests(response, page)
        del page  # its tree is freed now, not when the article is filed
        for request in requests:
            yield request
        # the recrawl middleware decides on the links before it passes the page on
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
        self.mark_done(response, page=not self.extracting)

    async def parse_photo(self, response: Response) -> AsyncIterator[Any]:
        """An image is archived as it arrives (WarcExporter) and done with its capture: there
        is nothing to parse."""
        if not self.challenged(response):
            self.crawler.stats.inc_value("photos/archived")
        return
        yield  # an async generator, as every callback

    def article_links(self, response: Response, page: Selector | None) -> list[str]:
        """The page's links to articles, canonical, each once, in page order."""
        if page is None:
            return []
        base = get_base_url(response)
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}/"
        links = (self._article_of_link(*link_key(href, base, origin))
                 for href in dict.fromkeys(HREFS(page.root)))
        return list(dict.fromkeys(url for url in links if url))

    def _article_of(self, href: str, base: str) -> str | None:
        """The article a link names, canonical; None if it names none (cached by link_key)."""
        url = self.canonical(urljoin(base, href))
        return url if url and self.is_article(url) else None


def listing_digest(links: Iterable[str]) -> str:
    """What a listing page lists, in a few bytes: the next page's request carries it (in a
    shared frontier's queue too) to notice a site that ignores the page number."""
    digest = hashlib.blake2b(digest_size=8)
    for url in sorted(set(links)):
        digest.update(url.encode("utf-8") + b"\n")
    return digest.hexdigest()


def link_key(href: str, base: str, origin: str) -> tuple[str, str]:
    """A link and the least of its page's URL its target depends on: an absolute link (with a
    host) or a root-relative one resolves the same against the page's origin as against the
    page. Menus and footers, the bulk of a news page's links, are such links, so the same
    key comes back on every page and its answer from the cache."""
    if href.startswith("/") and not href.startswith("//"):
        return href, origin
    scheme, separator, rest = href.partition("://")
    if separator and scheme in ("http", "https") and rest[:1] not in ("", "/", "?", "#"):
        return href, origin
    return href, base


def parsed(response: Response) -> Selector | None:
    """The page's tree for one callback (None if the response is not text). Not Scrapy's
    `response.selector`: that refers back to its response (scrapy/scrapy#2977), a cycle
    that left every page, its body, text and tree, to the cyclic garbage collector (80 MB
    more at the peak of a 2,000-article crawl); this one is freed once the callback drops it."""
    if not isinstance(response, TextResponse):
        return None
    return Selector(text=response.text, type="xml" if isinstance(response, XmlResponse) else "html",
                    base_url=get_base_url(response))


def image_sources(page: Selector, selectors: tuple[str, ...]) -> list[str]:
    """The `src` (else `data-src`, for lazy loading) of every image the selectors match."""
    sources = []
    for selector in selectors:
        for image in page.css(selector):
            src = (image.attrib.get("src") or "").strip()
            if not src or src.startswith("data:"):
                src = (image.attrib.get("data-src") or src).strip()
            if src:
                sources.append(src)
    return sources


def photos_enabled(settings: BaseSettings, site: SiteProfile) -> bool:
    """PHOTOS_ENABLED when given (True or False), else the profile's `[photos] enabled`."""
    if setting(settings, "PHOTOS_ENABLED", str) in ("", "None"):  # not given
        return site.photos.enabled
    return setting(settings, "PHOTOS_ENABLED", bool)


def header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
