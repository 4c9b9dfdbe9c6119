"""The generic extraction rules on the pages an independent review found them wrong on:
captions and sidebars taken for leads, site names inside words, numbered title parts, a
mostly-ASCII UTF-8 page, a malformed canonical URL, an inline SVG's title, and the URL that
`scrapy extract --url` must pass on as a crawl does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html

from crawler.extraction.article import Extraction, extract_article
from crawler.extraction.leads import find_lead
from crawler.extraction.text import text_prefix
from crawler.profiles import ExtractHints
from tests.crawl import PROJECT

BODY = ("<p>Người dân được khuyến cáo hạn chế ra ngoài vào buổi trưa khi nắng nóng gay gắt kéo dài.</p>"
        "<p>Các bệnh viện đã chuẩn bị thêm giường bệnh cho những ca say nắng trong mùa hè năm nay.</p>"
        "<p>Trung tâm dự báo cho biết đợt nắng nóng có thể kéo dài thêm ít nhất một tuần nữa.</p>")
LEAD = "Nắng nóng gay gắt bao trùm các tỉnh miền Bắc, nhiệt độ ngoài trời có nơi vượt 41 độ C."


def extract(page: str | bytes, hints: ExtractHints | None = None, url: str | None = None) -> Extraction:
    body = page.encode() if isinstance(page, str) else page
    return extract_article(body, content_type="text/html", hints=hints or ExtractHints(),
                           max_bytes=10**6, url=url)


def paragraphs(result: Extraction) -> list[str]:
    assert result.article is not None, result.failure
    return list(result.article.paragraphs)


@pytest.mark.parametrize("before_body", [
    f"<div class='photo'><img src='a.jpg'><p class='image-desc'>Ảnh minh họa: {LEAD}</p></div>",
    f"<div class='video-description'>Video: {LEAD}</div>",
])
def test_a_caption_is_not_a_lead(before_body: str) -> None:
    """(Whether the body keeps a caption is trafilatura's call; the lead rule must not pick it.)"""
    page = (f"<html><body><main><article><h1>Nắng nóng kỷ lục</h1>{before_body}<div class='content'>{BODY}"
            "</div></article></main></body></html>")
    tree = html.document_fromstring(page)
    assert find_lead(tree, "Nắng nóng kỷ lục", tree.find_class("content")[0], []) == ""


def test_without_a_headline_a_sidebar_summary_is_not_a_lead() -> None:
    page = (f"<html><body><div class='sidebar'><p class='summary'>Tin đọc nhiều: {LEAD}</p></div>"
            f"<main><article>{BODY}</article></main></body></html>")
    assert not any("Tin đọc nhiều" in paragraph for paragraph in paragraphs(extract(page)))


def test_a_profile_without_a_lead_selector_still_keeps_the_lead_above_its_body_container() -> None:
    page = (f"<html><body><article><h1>Nắng nóng kỷ lục</h1><p class='sapo'>{LEAD}</p>"
            f"<div class='content'>{BODY}</div></article><aside><p>Quảng cáo</p></aside></body></html>")
    assert paragraphs(extract(page, ExtractHints(body=("div.content",))))[0] == LEAD


@pytest.mark.parametrize(("title", "canonical", "expected"), [
    ("Chuyện cổ tích giữa lòng phố cổ Hà Nội xưa và nay - Kỳ 2", "",
     "Chuyện cổ tích giữa lòng phố cổ Hà Nội xưa và nay - Kỳ 2"),
    ("Vietnam beat Thailand to reach the AFF Cup final - again", "",
     "Vietnam beat Thailand to reach the AFF Cup final - again"),
    ("Amazing - the story of a village that keeps its rice terraces", "https://zing.vn/a.html",
     "Amazing - the story of a village that keeps its rice terraces"),
    ("Vovinam - môn võ Việt được nhiều nước đón nhận | VOV.VN", "https://vov.vn/a.vov",
     "Vovinam - môn võ Việt được nhiều nước đón nhận"),
])
def test_the_site_name_is_a_whole_part_never_a_word_inside_one(title: str, canonical: str,
                                                              expected: str) -> None:
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    page = (f"<html><head><title>{title}</title>{link}</head><body><main><article>{BODY}</article></main>"
            "</body></html>")
    result = extract(page)
    assert result.article is not None and result.article.title == expected


def test_an_inline_svg_title_is_not_the_page_title() -> None:
    page = ("<html><head></head><body><svg><title>Tìm kiếm</title></svg><main><article>"
            f"<h1>Nắng nóng kỷ lục</h1>{BODY}</article></main></body></html>")
    result = extract(page)
    assert result.article is not None and result.article.title == "Nắng nóng kỷ lục"


def test_a_mostly_ascii_utf8_page_with_one_stray_byte_stays_utf8() -> None:
    page = ("<html><head><title>Cafe news</title></head><body><main><article><h1>Cafe news</h1>"
            "<p>The café opened today on the corner of the main square, and the queue was long.</p>"
            "<p>Its owner said the first week had gone better than \xb5 anyone expected this year.</p>"
            "</article></main></body></html>").encode().replace("\xb5".encode(), b"\xb5")
    result = extract(page)
    assert result.article is not None and "The café opened" in result.article.text
    assert "UTF-8 but for 1 bytes" in result.article.metadata.problems["charset"]


def test_a_malformed_canonical_url_is_a_problem_not_an_error() -> None:
    page = (f"<html><head><title>Nắng nóng kỷ lục</title><link rel='canonical' href='http://[oops/'></head>"
            f"<body><main><article><h1>Nắng nóng kỷ lục</h1>{BODY}</article></main></body></html>")
    result = extract(page)
    assert result.article is not None, result.failure
    metadata = result.article.metadata
    assert metadata.canonical_url is None and "canonical_url" in metadata.problems


def test_scrapy_extract_passes_the_url_on_so_same_site_teasers_go(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(f"<html><head><title>Nắng nóng kỷ lục</title></head><body><main><article>"
                    f"<h1>Nắng nóng kỷ lục</h1>{BODY}<p>Xem thêm: <a href='https://baomau.vn/gia-vang-1.html'>"
                    "Giá vàng tăng mạnh</a></p></article></main></body></html>", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "scrapy", "extract", "--url",
                           "https://baomau.vn/bai-1.html", "-o", str(tmp_path / "out"), str(page)],
                          cwd=PROJECT,
                          env={**os.environ, "DATA_DIR": str(tmp_path)}, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "out" / "page.txt").read_text(encoding="utf-8")
    assert "Người dân được" in text and "Giá vàng" not in text


@pytest.mark.parametrize("head", [
    '<script type="application/ld+json">{"@type": {"x": 1}, "headline": "Khác"}</script>',
    '<script type="application/ld+json">{"@type": [["NewsArticle"]]}</script>',
    '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>",
    '<script type="application/ld+json">' + '{"@graph":' * 3000 + "{}" + "}" * 3000 + "</script>",
    '<meta name="author" content="http://[oops">',
])
def test_odd_metadata_is_a_problem_at_most_never_an_error(head: str) -> None:
    """Found in a second review: each of these made the whole page raise."""
    page = (f"<html><head>{head}<title>Nắng nóng kỷ lục</title></head><body><main><article>"
            f"<h1>Nắng nóng kỷ lục</h1>{BODY}</article></main></body></html>").encode()
    result = extract(page)
    assert result.article is not None, result.failure
    assert result.article.title == "Nắng nóng kỷ lục" and result.article.paragraphs[0].startswith("Người dân")


def test_a_block_holding_the_body_container_is_not_its_lead() -> None:
    page = ("<html><body><article><h1>Nắng nóng kỷ lục</h1><div class='article-intro'><p class='date'>Thứ hai"
            f"</p><div class='body'>{BODY}</div></div></article></body></html>")
    found = paragraphs(extract(page, ExtractHints(body=("div.body",))))
    assert found[0].startswith("Người dân") and len(found) == 3


def test_raw_text_elements_leave_no_markup_behind() -> None:
    page = (f"<html><head><title>Nắng nóng kỷ lục</title></head><body><main><article>"
            f"<h1>Nắng nóng kỷ lục</h1>{BODY}<iframe><script>x()</script></iframe>"
            "<noembed><p>noembed</p></noembed></article></main></body></html>")
    result = extract(page)
    assert result.article is not None
    assert "<" not in result.article.text and "noembed" not in result.article.text


def test_a_hyphenated_host_names_the_site() -> None:
    page = ("<html><head><title>Nắng nóng kỷ lục ở miền Bắc kéo dài - Bao Mau</title>"
            "<link rel='canonical' href='https://bao-mau.vn/a-1.html'></head>"
            f"<body><main><article>{BODY}</article></main></body></html>")
    result = extract(page)
    assert result.article is not None and result.article.title == "Nắng nóng kỷ lục ở miền Bắc kéo dài"


def test_the_start_of_a_text_is_read_without_reading_all_of_it() -> None:
    element = html.fromstring(f"<div>{'x' * 1_000_000}<b>1</b></div>")
    assert len(text_prefix(element, 100)) == 100


@pytest.mark.parametrize("charset", ["undefined", "unicode_escape"])
def test_a_declared_charset_that_is_no_web_encoding_is_passed_over(charset: str) -> None:
    page = (f'<html><head><meta charset="{charset}"><title>Grüße aus München</title></head><body><main>'
            f"<article><h1>Grüße aus München</h1><p>{'Die Straße ist schön und überall grün. ' * 8}</p>"
            "</article></main></body></html>").encode("cp1252")
    result = extract(page)
    assert result.article is not None, result.failure
    assert "Straße" in result.article.text and "a guess" in result.article.metadata.problems["charset"]
