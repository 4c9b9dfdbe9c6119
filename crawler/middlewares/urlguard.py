"""What the crawl refuses to fetch, before it reaches the frontier or the network.

Why: a link or a redirect target is stored in the catalogue before Scrapy's own URL-length
check would drop it, and the catalogue indexes URLs (PostgreSQL refuses index rows over
about 2.7 kB), so one absurd URL would stop the run and every run after it. And a crawl of
a mirror (`-a origin=...`) must never leave that mirror for the real site. Links are
checked by the spider (`url_refusal`); redirect targets, which no spider code sees, by
`UrlGuardMiddleware` (a downloader middleware), whose refusal reaches the request's
errback and so is recorded as the URL's failure.

Settings: URLLENGTH_LIMIT (Scrapy's, honoured here too), CATALOGUE_MAX_URL_BYTES.
Stats: urlguard/refused/<reason>.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import IgnoreRequest

from crawler.config import setting
from crawler.urls import host_of

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings



class Refused(IgnoreRequest):
    """A request the guard will not send; `reason` is recorded as the URL's failure."""

    def __init__(self, reason: str, url: str):
        super().__init__(f"{reason}: {url[:200]}")
        self.reason = reason


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def url_limit(settings: BaseSettings) -> int:
    """Bytes a URL may have: Scrapy's URLLENGTH_LIMIT, and what the catalogue can index."""
    limits = [setting(settings, "CATALOGUE_MAX_URL_BYTES", int)]
    if (scrapy_limit := settings.getint("URLLENGTH_LIMIT", 2083)) > 0:
        limits.append(scrapy_limit)
    return min(limits)


def url_refusal(url: str, limit: int) -> str | None:
    """Why `url` must not be fetched nor catalogued, or None."""
    if len(url.encode("utf-8", "surrogatepass")) > limit:
        return "url_too_long"
    if _CONTROL.search(url):
        return "url_control_character"  # NUL cannot even be stored in PostgreSQL text
    return None


class UrlGuardMiddleware:
    """Refuses every request (redirect targets included) that is too long, holds control
    characters, or, in a mirror crawl, leaves the mirror's host."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.limit = url_limit(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        reason = url_refusal(request.url, self.limit) or self._off_origin(request.url)
        if reason is not None:
            self.crawler.stats.inc_value(f"urlguard/refused/{reason}")
            raise Refused(reason, request.url)

    def _off_origin(self, url: str) -> str | None:
        spider = self.crawler.spider
        mirror = getattr(spider, "mirror_host", None)
        return None if mirror is None or host_of(url) == mirror else "off_origin"
