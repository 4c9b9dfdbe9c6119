"""The sample site, plus what a hostile or merely odd server sends (issue: hold up on the
real web). Each odd page is an article URL the crawl finds through the site's own feed or
sitemaps, so the real `vov` spider meets it as it would on the web.

    site = HostileSite()
    with serve(site) as origin: ...   # every case in CASES is reachable from the seeds
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from tests.sample_site import SampleSite
from tests.sample_site.routes import HTML, Response

LONG_QUERY = "?q=" + "a" * 6000
BOMB_BYTES = 128 * 1024 * 1024  # inflated; over the crawl's DOWNLOAD_MAXSIZE (64 MiB)
SYNTHETIC_CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Security check</title><script>window._jsc_ch_conf = "
    b"{mo: 1};</script><script src='/_jsc_sbu/ws_sec_page.js'></script></head><body>"
    b"<div id='wss-captcha'></div><p>Please wait while we verify the security of the "
    b"connection and browser environment.</p></body></html>")


def article_path(name: str, number: int) -> str:
    return f"/the-gioi/{name}-post{990000 + number}.vov"


STATUS_1000 = article_path("trang-ma-trang-thai-1000", 1)
STATUS_099 = article_path("trang-ma-trang-thai-099", 2)
LONG_REDIRECT = article_path("chuyen-huong-dai", 3)
LONG_LINK = article_path("lien-ket-dai", 5) + LONG_QUERY
FAR_FUTURE = article_path("nam-9999", 8)
YEAR_ONE = article_path("nam-0001", 9)
ODD_HEADERS = article_path("tieu-de-la", 10)
CHALLENGE = article_path("thach-thuc", 11)
SCRIPT_REDIRECT = article_path("chuyen-huong-script", 12)
SCRIPT_TARGET = article_path("dich-script", 13)
BOMB = article_path("bom-giai-nen", 14)
OFF_ORIGIN = article_path("sang-trang-that", 15)
REDIRECT_TO_FAILING = article_path("chuyen-sang-loi", 16)
FAILING_TARGET = article_path("dich-loi-503", 17)
REAL_SITE_ARTICLE = "https://vov.vn/the-gioi/bai-that-post1.vov"
SUBDOMAIN_ARTICLE = "https://english.vov.vn/world/real-post2.vov"

# served with the text of the site's first gold article
COPIES = (FAR_FUTURE, YEAR_ONE, ODD_HEADERS, SCRIPT_TARGET)
IN_FEED = (STATUS_1000, STATUS_099, LONG_REDIRECT, LONG_LINK, ODD_HEADERS, CHALLENGE,
           SCRIPT_REDIRECT, BOMB, OFF_ORIGIN, REDIRECT_TO_FAILING, REAL_SITE_ARTICLE,
           SUBDOMAIN_ARTICLE)
IN_ODD_SITEMAP = {FAR_FUTURE: "9999-12-31T23:59:59-05:00", YEAR_ONE: "0001-01-01T00:00:00Z"}
ODD_SITEMAP = "/sitemaps/odd.xml"


@cache
def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """`size` zero bytes, gzip-compressed in a streaming loop (never all in memory)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block, parts = bytes(1 << 20), []
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return b"".join(parts)


class HostileSite(SampleSite):
    """The sample site whose feed and sitemap index also lead to the odd pages above."""

    def __init__(self, n_articles: int = 12, challenge: bytes = SYNTHETIC_CHALLENGE) -> None:
        super().__init__(n_articles)
        self.challenge = challenge
        self.copied = self.articles[0]  # the gold article whose page the copies serve

    def respond(self, target: str, base: str) -> Response:
        parts = urlsplit(target)
        odd = self._odd(parts.path, base)
        if odd is not None:
            return odd
        response = super().respond(target, base)
        if parts.path == "/rss/home.rss":
            items = "".join(f"<item><title>x</title><link>{_xml(_absolute(p, base))}</link>"
                            "<pubDate>Fri, 31 Dec 9999 23:59:59 +0700</pubDate></item>\n"
                            for p in IN_FEED)
            return _inserted(response, b"</channel>", items)
        if parts.path == "/sitemap.xml":
            entry = (f"<sitemap><loc>{base}{ODD_SITEMAP}</loc>"
                     "<lastmod>9999-12-31T23:59:59-05:00</lastmod></sitemap>\n")
            return _inserted(response, b"</sitemapindex>", entry)
        return response

    def _odd(self, path: str, base: str) -> Response | None:
        page = self._cases(base).get(path)
        return page() if page is not None else None

    def _cases(self, base: str) -> dict[str, Callable[[], Response]]:
        def copy(**changes: object) -> Response:
            return replace(super(HostileSite, self).respond(self.copied.path, base),
                           cacheable=False, **changes)  # type: ignore[arg-type]
        return {
            STATUS_1000: lambda: copy(status=1000),
            STATUS_099: lambda: copy(status=99),
            LONG_REDIRECT: lambda: Response(301, b"", HTML, location=base + article_path(
                "dich-dai", 4) + LONG_QUERY, cacheable=False),
            FAR_FUTURE: copy, YEAR_ONE: copy, SCRIPT_TARGET: copy,
            ODD_HEADERS: lambda: copy(
                content_type="text/html; charset=utf-8; profile=" + "x" * 400,
                headers=(("ETag", '"' + "e" * 300 + '"'), ("Last-Modified", "L" * 100))),
            CHALLENGE: lambda: Response(200, self.challenge, HTML, compressible=True,
                                        cacheable=False),
            SCRIPT_REDIRECT: lambda: Response(200, (
                '<html><head><script>window.location.href = "' + SCRIPT_TARGET +
                '";</script></head><body></body></html>').encode(), HTML, cacheable=False),
            BOMB: lambda: Response(200, gzip_bomb(), HTML, headers=(("Content-Encoding", "gzip"),),
                                   cacheable=False),
            OFF_ORIGIN: lambda: Response(302, b"", HTML, location=REAL_SITE_ARTICLE,
                                         cacheable=False),
            REDIRECT_TO_FAILING: lambda: Response(301, b"", HTML, location=base + FAILING_TARGET,
                                                  cacheable=False),
            FAILING_TARGET: lambda: Response(503, b"busy", HTML, cacheable=False),
            ODD_SITEMAP: lambda: Response(200, _urlset(base).encode(), "application/xml",
                                          cacheable=False),
        }


def real_challenge(shared_data: Path) -> bytes | None:
    """vov.vn's own challenge page, where the shared test material is at hand."""
    path = shared_data / "vov-real" / "bot-challenge.html"
    return path.read_bytes() if path.exists() else None


def _urlset(base: str) -> str:
    entries = "".join(f"<url><loc>{base}{path}</loc><lastmod>{lastmod}</lastmod></url>\n"
                      for path, lastmod in IN_ODD_SITEMAP.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">\n{entries}</urlset>\n')


def _absolute(path: str, base: str) -> str:
    return path if path.startswith("http") else base + path


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _inserted(response: Response, before: bytes, text: str) -> Response:
    body = response.body.replace(before, text.encode() + before, 1)
    return replace(response, body=body, cacheable=False)
