"""A page the spider parses is freed when its callback is done, by reference counting: no
cycle leaves its body, text and tree to the garbage collector (scrapy/scrapy#2977)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

from crawler.spiders.news import HREFS, image_sources, parsed

PAGE = b"""<html><head><base href="https://vov.vn/xa-hoi/"></head><body>
<a href="/a-post1.vov">a</a><a href="b-post2.vov">b</a>
<div class="article__body"><img src="/p.jpg"><img data-src="/q.jpg" src="data:,"></div>
</body></html>"""


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def freed_without_the_collector(use: Callable[[HtmlResponse], object]) -> bool:
    response = HtmlResponse("https://vov.vn/xa-hoi/x-post9.vov", body=PAGE, encoding="utf-8")
    use(response)
    alive = weakref.ref(response)
    del response
    return alive() is None


def test_a_parsed_page_goes_with_its_callback(no_collector: None) -> None:
    def callback(response: HtmlResponse) -> object:
        page = parsed(response)
        assert page is not None
        assert HREFS(page.root) == ["/a-post1.vov", "b-post2.vov"]
        assert image_sources(page, ("div.article__body img",)) == ["/p.jpg", "/q.jpg"]
        assert page.root.base_url == "https://vov.vn/xa-hoi/"  # the page's <base>
        return page

    assert freed_without_the_collector(callback)
    # what it replaces: Scrapy's response.selector refers back to its response
    assert not freed_without_the_collector(lambda response: response.selector)


def test_only_text_is_parsed_and_xml_as_xml() -> None:
    assert parsed(Response("https://vov.vn/p.jpg", body=b"\xff\xd8")) is None
    xml = parsed(XmlResponse("https://vov.vn/s.xml", body=b"<urlset><url/></urlset>"))
    assert xml is not None and xml.type == "xml"
    text = parsed(TextResponse("https://vov.vn/a", body=b"<p>x</p>", encoding="utf-8"))
    assert text is not None and text.type == "html"
