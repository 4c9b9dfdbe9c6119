"""The crawl a user would write in an afternoon, as a yardstick for the full `vov` job.

One plain Scrapy spider, Scrapy's default components and a clean settings dict (none of the
project's settings, middlewares, pipelines or extensions), finding the pages the full job
finds by the same profile's rules: robots.txt, the sitemap index and its sitemaps, the
feeds, every category and its `?page=N` pages, the articles (and the articles they link
to), each article's photos. Two modes:
  bare   fetch and follow, nothing else
  naive  and, in the callbacks, on the reactor thread: a gzipped WARC request+response
         record pair for every response (warcio), and `trafilatura.extract` of every
         article page, its text written to a file; one process, no catalogue

    python -m benchmarks.naive_pipeline --mode naive --origin http://127.0.0.1:8080 \
        --out DIR [--concurrency 16] [--max-pages 50]
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterable, Iterator
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import trafilatura
from scrapy import Request, Spider
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import Sitemap
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.profiles import SiteProfile
from crawler.urls import with_query_parameter

PROFILE = Path(__file__).resolve().parents[1] / "settings" / "sites" / "vov.toml"
# The body as Scrapy hands it over is decoded: its record must not say it is compressed.
ENCODING_HEADERS = {b"content-encoding", b"transfer-encoding", b"content-length"}


class SiteSpider(Spider):
    """Every page of a VOV-style site, by its profile's discovery rules."""

    name = "naive"

    def __init__(self, origin: str, mode: str, out: str, max_pages: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.site = SiteProfile.load(PROFILE).at_origin(origin)
        self.mode, self.max_pages, self.out = mode, max_pages, Path(out)
        self.warc = None
        if mode == "naive":
            (self.out / "text").mkdir(parents=True, exist_ok=True)
            self.warc_file = (self.out / "naive.warc.gz").open("wb")
            self.warc = WARCWriter(self.warc_file, gzip=True)

    async def start(self) -> AsyncIterator[Request]:
        discovery = self.site.discovery
        for path in discovery.sitemaps:
            yield Request(self.site.absolute(path), self.parse_sitemap)
        for path in discovery.feeds:
            yield Request(self.site.absolute(path), self.parse_feed)
        for path in discovery.categories:
            yield Request(self.site.absolute(path), self.parse_listing)

    def closed(self, reason: str) -> None:
        if self.warc is not None:
            self.warc_file.close()

    # ---- callbacks --------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        self.keep(response)
        sitemap = Sitemap(response.body)
        for entry in sitemap:
            if sitemap.type == "sitemapindex":
                yield Request(entry["loc"], self.parse_sitemap)
            else:
                yield from self.articles([entry["loc"]])

    def parse_feed(self, response: Response) -> Iterator[Request]:
        self.keep(response)
        yield from self.articles(response.xpath("//item/link/text()").getall())

    def parse_listing(self, response: Response) -> Iterator[Request]:
        """A listing page, then the next one while this one lists articles."""
        self.keep(response)
        links = response.xpath("//a/@href").getall()
        yield from self.articles(response.urljoin(href) for href in links)
        parameter = self.site.discovery.pagination_parameter
        page = int(dict(parse_qsl(urlsplit(response.url).query)).get(parameter, "0"))
        if page < self.max_pages and any(self.site.is_article(response.urljoin(h)) for h in links):
            yield Request(with_query_parameter(response.url, parameter, page + 1), self.parse_listing)

    def parse_article(self, response: Response) -> Iterator[Request]:
        self.keep(response)
        if not isinstance(response, TextResponse):
            return
        if self.mode == "naive":
            self.extract(response)
        yield from self.articles(response.urljoin(href) for href in response.xpath("//a/@href").getall())
        for selector in self.site.extract.images:
            for src in response.css(selector).xpath("@src").getall():
                if url := self.site.photo_url(response.urljoin(src)):
                    yield Request(url, self.parse_photo)

    def parse_photo(self, response: Response) -> None:
        self.keep(response)

    # ---- what the naive pipeline does ---------------------------------------------------

    def articles(self, links: Iterable[str]) -> Iterator[Request]:
        for link in links:
            url = self.site.canonical(link)
            if url and self.site.is_article(url):
                yield Request(url, self.parse_article)

    def keep(self, response: Response) -> None:
        """A WARC request record and response record, gzipped, written here and now."""
        if self.warc is None or response.request is None:
            return
        request = response.request
        target = urlsplit(request.url)
        request_headers = StatusAndHeaders(
            f"{request.method} {target.path or '/'}{'?' + target.query if target.query else ''} HTTP/1.1",
            [(k.decode(), v.decode()) for k, vs in request.headers.items() for v in vs],
            is_http_request=True)
        response_headers = StatusAndHeaders(
            f"{response.status} {HTTPStatus(response.status).phrase}",
            [(k.decode(), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs
             if k.lower() not in ENCODING_HEADERS] + [("Content-Length", str(len(response.body)))],
            protocol="HTTP/1.1")
        records = (
            self.warc.create_warc_record(response.url, "request", payload=BytesIO(b""),
                                         http_headers=request_headers),
            self.warc.create_warc_record(response.url, "response", payload=BytesIO(response.body),
                                         http_headers=response_headers))
        self.warc.write_request_response_pair(*records)

    def extract(self, response: TextResponse) -> None:
        text = trafilatura.extract(response.text)
        if text:
            self.crawler.stats.inc_value("naive/texts")
            name = urlsplit(response.url).path.strip("/").replace("/", "_") + ".txt"
            (self.out / "text" / name).write_text(text, encoding="utf-8")


def settings(concurrency: int) -> dict[str, Any]:
    """Scrapy's defaults, politeness lifted as for the full job."""
    return {
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=("bare", "naive"), required=True)
    parser.add_argument("--origin", required=True)
    parser.add_argument("--out", required=True, help="folder for the WARC file and texts")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-pages", type=int, default=50, help="listing pages per category")
    args = parser.parse_args()
    process = CrawlerProcess(settings(args.concurrency))
    process.crawl(SiteSpider, origin=args.origin, mode=args.mode, out=args.out,
                  max_pages=args.max_pages)
    process.start()


if __name__ == "__main__":
    main()
