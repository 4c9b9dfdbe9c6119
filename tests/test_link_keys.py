"""The spider caches what a link names by `link_key`: the key must resolve exactly as the
page itself would, for every shape of link."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from crawler.spiders.news import link_key

PAGES = ["https://vov.vn/xa-hoi/bai-viet-post123.vov?x=1", "http://127.0.0.1:8080/a/b/c.vov",
         "https://vov.vn/"]
HREFS = ["https://vov.vn/the-gioi/x-post1.vov", "http://vov.vn/./c", "https://vov.vn", "/",
         "/a/../b", "/x?y=1#z", "https://", "https://?x=1", "https://#top", "HTTPS://vov.vn/x",
         "//cdn.vov.vn/x", "a/b", "../c", "./d", "?page=2", "#top", " /x", "", "mailto:a@b.vn",
         "javascript:void(0)", "https://h.vn/?x=1", "http:/x", "https:x"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("href", HREFS)
def test_a_link_keyed_by_origin_resolves_as_against_its_page(page: str, href: str) -> None:
    parts = urlsplit(page)
    key, against = link_key(href, page, f"{parts.scheme}://{parts.netloc}/")
    assert key == href
    assert urljoin(against, key) == urljoin(page, href)
