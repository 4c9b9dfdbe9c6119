"""Follow a page whose only content is a script sending the browser elsewhere.

Why: some pages of VOV-style sites (public scrapers of vov.vn report it) answer HTTP 200
with nothing but `<script>window.location.href = "/real/page"</script>`: a browser goes
on, a crawler that stops there files an empty page. Such a page is followed like a meta
refresh (Scrapy's MetaRefreshMiddleware, whose machinery this reuses: redirect limits,
`redirect_urls`, `dont_redirect`). Only a literal URL is followed, only when the page has
no text of its own, and never from a bot challenge (which builds its URL in script).

Settings: JSREDIRECT_ENABLED (default True). Stats: jsredirect/followed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import html as lxml_html
from scrapy.downloadermiddlewares.redirect import BaseRedirectMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse

from crawler.config import setting

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.http import Response
    from scrapy.settings import BaseSettings

MAX_PAGE_BYTES = 64 * 1024  # a redirecting stub is small; a page with content is no stub
MAX_OWN_TEXT = 200  # characters of visible text a stub may have ("Redirecting...")
_TARGET = re.compile(
    r"""(?:window\.|document\.|self\.|top\.)?location(?:\.href)?\s*=\s*(["'])(?P<a>[^"'<>\s]+)\1"""
    r"""|location\.(?:replace|assign)\(\s*(["'])(?P<b>[^"'<>\s]+)\3\s*\)""")


def script_redirect_target(body: bytes) -> str | None:
    """The literal URL a script-only page sends the browser to, or None."""
    if len(body) > MAX_PAGE_BYTES or b"location" not in body:
        return None
    try:
        tree = lxml_html.fromstring(body)
    except (ValueError, lxml_html.etree.ParserError):
        return None
    scripts = [script.text or "" for script in tree.iter("script")]
    for element in tree.iter("script", "style", "noscript", "title"):
        element.drop_tree()
    if len(" ".join(tree.text_content().split())) > MAX_OWN_TEXT:
        return None
    targets = {match["a"] or match["b"] for text in scripts for match in _TARGET.finditer(text)}
    return targets.pop() if len(targets) == 1 else None


class JsRedirectMiddleware(BaseRedirectMiddleware):
    enabled_setting = "REDIRECT_ENABLED"  # Scrapy's switch for all redirects holds for these too

    def __init__(self, settings: BaseSettings):
        if not setting(settings, "JSREDIRECT_ENABLED", bool):
            raise NotConfigured("JSREDIRECT_ENABLED is off")
        super().__init__(settings)

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Request | Response:
        if request.meta.get("dont_redirect") or request.method == "HEAD" or \
                response.status != 200 or not isinstance(response, HtmlResponse):
            return response
        target = script_redirect_target(response.body)
        if target is None:
            return response
        redirected = self._redirect_request_using_get(request, response, response.urljoin(target))
        if redirected.url == request.url or not redirected.url.startswith(("http:", "https:")):
            return response
        self.crawler.stats.inc_value("jsredirect/followed")
        return self._redirect(redirected, request, "script redirect")
