"""URL routing of the sample site: request target -> :class:`Response`.

Kept free of any HTTP machinery so the mapping can be read (and tested)
on its own; :mod:`.server` adds compression, validators and framing.
``Last-Modified`` is the article's ``lastmod`` for articles and the site
clock for aggregate pages (listings, feeds, homepage), whose content shifts
with every change, so ``If-Modified-Since`` never wrongly answers 304.
URL shapes follow vov.vn: ``/<category>?page=N``,
``/<category>/<slug>-post<ID>.vov``, ``/sitemaps/YYYY/M/article.xml``,
``/rss/*.rss``, ``/tu-khoa/<slug>-tag<ID>``, plus the trap pages; and the paths of the
articles' photos (``https://media.vov.vn/sites/default/files/...``: a mirror serves them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cached_property
from hashlib import sha1
from urllib.parse import parse_qs, urlsplit

from . import pages
from .catalog import GOLD_ROLES, START, Catalog
from .content import CATEGORIES, MENU_ONLY_CATEGORIES, slugify
from .encoding import encode_cp1258
from .images import jpeg

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JPEG = "image/jpeg"
FEEDS = {"/rss/home.rss": "home", "/rss/tin-moi-nhat-24h.rss": "latest"}

ARTICLE_RE = re.compile(r"/(?P<category>[a-z-]+)/(?P<slug>[a-z0-9-]+)-post(?P<id>\d+)\.vov")
SITEMAP_RE = re.compile(r"/sitemaps/(?P<year>\d{4})/(?P<month>[1-9]|1[0-2])/article\.xml")
TAG_RE = re.compile(r"/tu-khoa/(?P<slug>[a-z0-9-]+)-tag(?P<id>\d+)")
OLD_RE = re.compile(r"/(?P<category>[a-z-]+)/(?P<slug>[a-z0-9-]+)-(?P<id>\d+)\.vov")
PRINT_RE = re.compile(r"/print/(?P<id>\d+)")
# an article's photo, on the image host (https://media.vov.vn<path>) or on a mirror of both
PHOTO_RE = re.compile(r"/sites/default/files/styles/large/public/\d{4}-\d{2}/(?P<id>\d+)_[0-9a-f]{8}\.jpg")


@dataclass(frozen=True)
class Response:
    """What the site answers; the server turns it into HTTP."""

    status: int
    body: bytes = b""
    content_type: str = HTML
    last_modified: datetime | None = None
    location: str | None = None
    chunked: bool = False
    compressible: bool = False
    cacheable: bool = True
    headers: tuple[tuple[str, str], ...] = ()  # sent as they are, after the usual ones

    @cached_property
    def etag(self) -> str:
        """Strong validator from the (uncompressed) content."""
        return '"' + sha1(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, list[str]]
    base: str

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]


def html_response(text: str, modified: datetime, status: int = 200, *, cacheable: bool = True) -> Response:
    return Response(status, text.encode("utf-8"), HTML, modified, compressible=True, cacheable=cacheable)


def not_found(catalog: Catalog) -> Response:
    return html_response(pages.error_page(catalog, 404), catalog.updated, 404)


def route(catalog: Catalog, target: str, base: str) -> Response:
    """Answer one request target (path plus optional query)."""
    parts = urlsplit(target)
    request = Request(parts.path, parse_qs(parts.query, keep_blank_values=True), base)
    for handler in HANDLERS:
        response = handler(catalog, request)
        if response is not None:
            if response.cacheable and not _cache_safe(request):
                response = _uncached(response)
            return response
    return not_found(catalog)


def _is_category(name: str) -> bool:
    return name in CATEGORIES or name in MENU_ONLY_CATEGORIES


def _cache_safe(request: Request) -> bool:
    """Only listing pagination is a query that maps to finitely many pages."""
    return not request.query or (_is_category(request.path[1:]) and set(request.query) <= {"page"})


def _uncached(response: Response) -> Response:
    """Arbitrary query strings must not grow the render cache without bound."""
    return replace(response, cacheable=False)


# --------------------------------------------------------------------------- handlers
# Each returns None when the path is not theirs.

def home(catalog: Catalog, request: Request) -> Response | None:
    if request.path != "/":
        return None
    return html_response(pages.home_page(catalog, request.base), catalog.updated)


def robots(catalog: Catalog, request: Request) -> Response | None:
    if request.path != "/robots.txt":
        return None
    return Response(200, pages.robots_txt(request.base).encode(), TEXT, START)


def sitemap_index(catalog: Catalog, request: Request) -> Response | None:
    if request.path != "/sitemap.xml":
        return None
    text = pages.sitemap_index(catalog, request.base)
    return Response(200, text.encode("utf-8"), XML, catalog.updated, compressible=True)


def monthly_sitemap(catalog: Catalog, request: Request) -> Response | None:
    match = SITEMAP_RE.fullmatch(request.path)
    if not match or not 2000 <= int(match["year"]) <= 2100:
        return None
    month = (int(match["year"]), int(match["month"]))
    text = pages.urlset(catalog.sitemaps.get(month, ()), request.base)
    return Response(200, text.encode("utf-8"), XML, catalog.sitemap_modified(month), compressible=True)


def feed(catalog: Catalog, request: Request) -> Response | None:
    if request.path not in FEEDS:
        return None
    text = pages.rss_feed(catalog, request.base, FEEDS[request.path], catalog.specials.utm_duplicate)
    return Response(200, text.encode("utf-8"), RSS, catalog.updated, chunked=True, compressible=True)


def listing(catalog: Catalog, request: Request) -> Response | None:
    category = request.path[1:]
    if not _is_category(category):
        return None
    page = _int(request.param("page", "0"))
    if page is None or not 0 <= page < catalog.page_count(category):
        return not_found(catalog)
    text = pages.listing_page(catalog, category, page, request.base, _old_link_box(catalog, category, page))
    return html_response(text, catalog.updated)


def _old_link_box(catalog: Catalog, category: str, page: int) -> str:
    """The one listing page that links an article by its legacy ``<slug>-<ID>.vov`` URL."""
    target = catalog.special_article("redirect")
    if target is None or page != 0 or target.category != category:
        return ""
    return pages.old_link_box(target, target.legacy_path)


def article(catalog: Catalog, request: Request) -> Response | None:
    if not ARTICLE_RE.fullmatch(request.path):
        return None
    item = catalog.by_path.get(request.path)
    if item is None or item.role == "not_found":
        return not_found(catalog)
    if item.role == "empty":
        return Response(200, b"", HTML, item.lastmod)
    if item.role == "non_html":
        return Response(200, pages.PDF_BYTES, "application/pdf", item.lastmod)
    if item.role == "server_error":
        return html_response(pages.error_page(catalog, 500), catalog.updated, 500)
    if item.role == "oversized":
        return html_response(pages.oversized_page(item, catalog, request.base), item.lastmod)
    text = pages.article_page(item, catalog, request.base)
    if item.charset == "utf-8":
        return html_response(text, item.lastmod)
    body = encode_cp1258(text, "xmlcharrefreplace")
    return Response(200, body, f"text/html; charset={item.charset}", item.lastmod, compressible=True)


def old_url(catalog: Catalog, request: Request) -> Response | None:
    match = OLD_RE.fullmatch(request.path)
    if not match:
        return None
    target = catalog.by_id.get(int(match["id"]))
    if target is None or target.role not in GOLD_ROLES or target.legacy_path != request.path:
        return not_found(catalog)
    location = request.base + target.path
    body = f'<html><body>Moved <a href="{location}">here</a>.</body></html>'.encode()
    return Response(301, body, HTML, location=location)


def print_version(catalog: Catalog, request: Request) -> Response | None:
    match = PRINT_RE.fullmatch(request.path)
    if not match:
        return None
    target = catalog.by_id.get(int(match["id"]))
    if target is None or target.role not in GOLD_ROLES:
        return not_found(catalog)
    return html_response(pages.print_page(target), target.lastmod)


def keyword(catalog: Catalog, request: Request) -> Response | None:
    match = TAG_RE.fullmatch(request.path)
    if not match:
        return None
    name = catalog.tag_names.get(int(match["id"]))
    if name is None or slugify(name) != match["slug"]:
        return not_found(catalog)
    return html_response(pages.tag_page(catalog, name, request.base), catalog.updated)


def calendar(catalog: Catalog, request: Request) -> Response | None:
    if request.path != "/lich":
        return None
    try:
        day = date.fromisoformat(request.param("date", catalog.updated.date().isoformat()))
    except ValueError:
        return not_found(catalog)
    return html_response(pages.calendar_page(catalog, day), catalog.updated, cacheable=False)


def search(catalog: Catalog, request: Request) -> Response | None:
    if request.path != "/tim-kiem":
        return None
    page = _int(request.param("page", "0")) or 0
    text = pages.search_page(catalog, request.param("q"), max(0, page))
    return html_response(text, catalog.updated, cacheable=False)


def static(catalog: Catalog, request: Request) -> Response | None:
    if request.path not in pages.STATIC_PAGES:
        return None
    return html_response(pages.static_page(catalog, request.path, request.base), catalog.updated)


def photo(catalog: Catalog, request: Request) -> Response | None:
    """An article's photo: real JPEG bytes, modified when the article was published."""
    match = PHOTO_RE.fullmatch(request.path)
    if not match:
        return None
    owner = catalog.by_id.get(int(match["id"]))
    if owner is None or urlsplit(owner.image).path != request.path:
        return not_found(catalog)
    return Response(200, jpeg(request.path), JPEG, owner.published)


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


HANDLERS: tuple[Callable[[Catalog, Request], Response | None], ...] = (
    home, robots, sitemap_index, monthly_sitemap, feed, listing, article, old_url,
    print_version, keyword, calendar, search, static, photo,
)
