"""NewsSpider: finds every article of a VOV-style site, following only the site's own rules.

Discovery paths, all from the site profile: robots.txt `Sitemap:` lines, the sitemap
index and its monthly sitemaps (plus the current month's, which the index lists only
once the month ends), RSS/Atom feeds, and category pages with `?page=N` pagination.
Only URLs matching the profile's article pattern are parsed as articles; everything
else a page links to is ignored, so calendars, search and print pages never trap it.
Every request is made for a canonical URL, so each page is fetched once.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree
from scrapy import Request, Spider, signals
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap

from crawler.bounded import BoundedDict
from crawler.dates import parse_date
from crawler.items import ArticlePage

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from crawler.profiles import SiteProfile

logger = logging.getLogger(__name__)

VIETNAM_TIME = timezone(timedelta(hours=7))
HUB_PRIORITY = 10  # discover first, so article requests are known early
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit
CANONICAL_CACHE_SIZE = 50_000  # bounded: memory stays flat however long the crawl


class NewsSpider(Spider):
    name = "news"
    profile: ClassVar[SiteProfile]  # set by crawler.profiles.ProfileSpiderLoader

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        if profile := getattr(cls, "profile", None):
            settings.setdict(profile.politeness.scrapy_settings(), priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    def __init__(self, *args: Any, origin: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.site: SiteProfile = self.profile.at_origin(origin) if origin else self.profile
        self.allowed_domains = [*self.site.hosts, self.site.origin_host]
        # Menus and sidebars repeat the same links on every page: remember what they become.
        self.canonical = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self.site.canonical)
        self.is_article = lru_cache(maxsize=CANONICAL_CACHE_SIZE)(self.site.is_article)
        # Article URLs asked for lately: not handed to the scheduler again just to be dropped
        # by its dupefilter (which stays the authority on what was fetched).
        self.requested: BoundedDict[str, None] = BoundedDict(CANONICAL_CACHE_SIZE)

    # ---- seeds --------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        discovery = self.site.discovery
        for path in discovery.sitemaps:
            yield self.hub(self.site.absolute(path), self.parse_sitemap)
        if discovery.monthly_sitemap:
            yield self.hub(self.site.absolute(self.current_month_sitemap()), self.parse_sitemap)
        for path in discovery.feeds:
            yield self.hub(self.site.absolute(path), self.parse_feed)
        for path in discovery.categories:
            yield self.category_page(self.site.absolute(path), 0)

    def current_month_sitemap(self) -> str:
        now = datetime.now(VIETNAM_TIME)
        return self.site.discovery.monthly_sitemap.format(year=now.year, month=now.month)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        """robots.txt is fetched once, by Scrapy's middleware: take its Sitemap lines from there."""
        if not self.site.discovery.sitemaps_from_robots:
            return
        for url in getattr(getattr(robotparser, "rp", None), "sitemaps", ()):
            if canonical := self.canonical(url):
                self.crawler.engine.crawl(self.hub(canonical, self.parse_sitemap))

    # ---- requests -----------------------------------------------------------------------

    def hub(self, url: str, callback: Any, **meta: Any) -> Request:
        canonical = self.canonical(url) or url
        return Request(canonical, callback=callback, priority=HUB_PRIORITY, meta=meta)

    def category_page(self, url: str, page: int, previous: frozenset[str] = frozenset()) -> Request:
        return self.hub(with_query_parameter(url, self.site.discovery.pagination_parameter, page),
                        self.parse_category, category=url, page=page, previous=previous)

    def article_requests(
        self, links: Iterable[tuple[str, datetime | None]], source: str
    ) -> Iterator[Request]:
        for link, lastmod in links:
            url = self.canonical(link)
            if url is None or not self.is_article(url):
                self.crawler.stats.inc_value(f"discovery/ignored/{source}")
                continue
            self.crawler.stats.inc_value(f"discovery/articles/{source}")
            if url in self.requested:
                continue
            self.requested[url] = None
            yield Request(url, callback=self.parse_article, meta={"lastmod": lastmod})

    # ---- callbacks ----------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        body = sitemap_body(response)
        if body is None:
            logger.warning("Not a sitemap (or over %d bytes): %s", MAX_SITEMAP_BYTES, response.url)
            self.crawler.stats.inc_value("discovery/bad_sitemap")
            return
        sitemap = Sitemap(body)
        entries = [(entry["loc"], parse_date(entry.get("lastmod"))) for entry in sitemap]
        if sitemap.type == "sitemapindex":
            for loc, lastmod in entries:
                if url := self.canonical(loc):
                    yield self.hub(url, self.parse_sitemap, lastmod=lastmod)
        else:
            yield from self.article_requests(entries, "sitemap")

    def parse_feed(self, response: Response) -> Iterator[Request]:
        yield from self.article_requests(feed_links(response.body), "feed")

    def parse_category(self, response: Response) -> Iterator[Request]:
        """A listing page; the next page is asked for only while pages list new articles
        (a site that ignores `?page=N` would otherwise be read max_category_pages times)."""
        links = self.article_links(response)
        yield from self.article_requests(((link, None) for link in links), "category")
        page, listed = response.meta["page"], frozenset(links)
        if listed and listed != response.meta.get("previous") and \
                page < self.site.discovery.max_category_pages:
            yield self.category_page(response.meta["category"], page + 1, listed)

    def parse_article(self, response: Response) -> Iterator[ArticlePage | Request]:
        yield ArticlePage(
            url=response.url,
            status=response.status,
            body=response.body,
            content_type=header(response, b"Content-Type"),
            # set by WarcExporter; absent only when archiving is switched off
            warc_record_id=response.meta.get("warc_record_id"),
            fetched_at=response.meta.get("fetched_at") or datetime.now(UTC),
            source_lastmod=response.meta.get("lastmod"),
        )
        if self.site.discovery.follow_links_in_articles:
            links = ((link, None) for link in self.article_links(response))
            yield from self.article_requests(links, "article")

    def article_links(self, response: Response) -> list[str]:
        """The page's links to articles, canonical, each once, in page order."""
        if not isinstance(response, TextResponse):
            return []
        hrefs = dict.fromkeys(response.xpath("//a/@href").getall())
        links = (self.canonical(response.urljoin(href)) for href in hrefs)
        return list(dict.fromkeys(url for url in links if url and self.is_article(url)))


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


def feed_links(body: bytes) -> list[tuple[str, datetime | None]]:
    """(link, date) of every RSS item and Atom entry in a feed."""
    try:
        root = etree.fromstring(body, etree.XMLParser(recover=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    links: list[tuple[str, datetime | None]] = []
    for item in root.iter("item"):
        links.append((item.findtext("link") or "", parse_date(item.findtext("pubDate"))))
    for entry in root.iter("{http://www.w3.org/2005/Atom}entry"):
        link = entry.find("{http://www.w3.org/2005/Atom}link")
        updated = entry.findtext("{http://www.w3.org/2005/Atom}updated")
        links.append((link.get("href", "") if link is not None else "", parse_date(updated)))
    return [(link.strip(), date) for link, date in links if link.strip()]
