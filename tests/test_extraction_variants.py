"""Extraction that generalises: the same article written in other ways gives the same text.

With the `vov` profile, on sample-site pages (tests/sample_site) rendered in each variant:
"see also" teasers in any wording or shape are dropped, genuine paragraphs that merely contain
a link are kept, a page without any <h1> and a lead written as the real vov.vn writes it
(`div.row.article-summary > div.col > h2 > div`) give the gold text, and a real article bloated
by megabytes of inline JSON is extracted, not refused.

With no profile (`ExtractHints()`), on pages in the markup of other portals
(tests/generic_pages.py): the lead outside the body container is the first paragraph, once;
teasers and related links are dropped; genuine paragraphs are kept; the title is found
wherever the page gives it, and a page with no title at all still gets its body.
"""

from __future__ import annotations

import json
import re

import pytest

from crawler.extraction.article import Extraction, extract_article
from crawler.profiles import ExtractHints, load_profiles
from settings import project
from tests.generic_pages import LEAD_PAGES, NO_TITLE_PAGE, TITLE_PAGES, GenericPage
from tests.sample_site import Article, SampleSite
from tests.sample_site.pages import SEE_ALSO_SHAPES, Layout, article_page, oversized_page

VOV = load_profiles(project.PROFILES_DIR)["vov"].extract
BASE = "https://vov.vn"
HTML = "text/html; charset=utf-8"
SITE = SampleSite(n_articles=30)


def extract(body: bytes, hints: ExtractHints = VOV) -> Extraction:
    return extract_article(body, content_type=HTML, hints=hints, max_bytes=project.EXTRACT_MAX_BYTES)


def linked_article() -> Article:
    """A common article with a gold paragraph holding a link inside its text."""
    return next(a for a in SITE.catalog.common if a.charset == "utf-8"
                and any(b.kind == "p" and "<a href=" in b.html for b in a.blocks))


def render(article: Article, layout: Layout) -> bytes:
    return article_page(article, SITE.catalog, BASE, layout).encode("utf-8")


def text_of(result: Extraction) -> str:
    assert result.failure is None, result.failure
    assert result.article is not None
    return result.article.text


# --------------------------------------------------------------------------- vov profile: teasers

@pytest.mark.parametrize("shape", SEE_ALSO_SHAPES)
def test_a_teaser_in_any_wording_is_dropped(shape: str) -> None:
    article = linked_article()
    body = render(article, Layout(teasers=(shape,)))
    assert len(body) > len(render(article, Layout(teasers=())))  # the teaser is there
    assert text_of(extract(body)) == article.gold_text


def test_every_teaser_shape_at_once_is_dropped() -> None:
    article = linked_article()
    body = render(article, Layout(teasers=SEE_ALSO_SHAPES + SEE_ALSO_SHAPES))
    assert text_of(extract(body)) == article.gold_text


def test_genuine_paragraphs_that_contain_a_link_are_kept() -> None:
    article = linked_article()
    result = extract(render(article, Layout(teasers=())))
    assert text_of(result) == article.gold_text
    linked = [b.text for b in article.blocks if "<a href=" in b.html]
    assert linked and all(text in result.article.paragraphs for text in linked)  # type: ignore[union-attr]


def test_every_page_of_the_sample_site_gives_its_gold_text() -> None:
    """As served (each article's own layout and teasers), extracted in one process."""
    wrong = []
    for article in SITE.articles:
        response = SITE.respond(article.path, BASE)
        result = extract_article(response.body, content_type=response.content_type, hints=VOV,
                                 max_bytes=project.EXTRACT_MAX_BYTES)
        if result.article is None or result.article.text != article.gold_text:
            wrong.append(article.path)
    assert wrong == []


# --------------------------------------------------------------------------- vov profile: title and lead

def test_a_page_without_any_h1_gives_the_gold_text() -> None:
    article = linked_article()
    body = render(article, Layout(title_h1=False, teasers=()))
    assert b"<h1" not in body
    result = extract(body)
    assert text_of(result) == article.gold_text
    assert result.article is not None and result.article.title == article.title


def test_a_lead_in_h2_div_as_on_the_real_site_is_the_first_paragraph() -> None:
    article = linked_article()
    result = extract(render(article, Layout(summary_h2=True, teasers=())))
    assert text_of(result) == article.gold_text
    assert result.article is not None and result.article.paragraphs[0] == article.summary


def test_no_h1_lead_in_h2_and_teasers_together() -> None:
    article = linked_article()
    result = extract(render(article, Layout(title_h1=False, summary_h2=True, teasers=SEE_ALSO_SHAPES)))
    assert text_of(result) == article.gold_text


# --------------------------------------------------------------------------- vov profile: size

def test_the_oversized_page_with_megabytes_of_inline_json_is_extracted() -> None:
    path = SITE.special["oversized"]
    response = SITE.respond(path, BASE)
    assert len(response.body) > 3 * 1024 * 1024
    assert text_of(extract(response.body)) == SITE.gold_texts()[path]


def test_a_page_of_twelve_megabytes_of_inline_json_is_extracted() -> None:
    """Well under the 16 MB memory guard: a real article, whatever its scripts weigh."""
    article = linked_article()
    page = oversized_page(article, SITE.catalog, BASE, Layout(teasers=()))
    blob = json.dumps({"cache": ["x" * 1024] * (9 * 1024)}, separators=(",", ":"))
    script = f'<script type="application/json" id="bootstrap">{blob}</script>\n'
    page = page.replace("</head>", script + "</head>", 1)
    body = page.encode("utf-8")
    assert 12 * 1024 * 1024 < len(body) < 13 * 1024 * 1024
    assert text_of(extract(body)) == article.gold_text


# --------------------------------------------------------------------------- no profile: other portals

def ids(pages: tuple[GenericPage, ...]) -> list[str]:
    return [page.name for page in pages]


def generic(page: GenericPage) -> Extraction:
    return extract(page.body, ExtractHints())


def paragraphs_of(page: GenericPage) -> tuple[str, ...]:
    result = generic(page)
    assert result.failure is None, result.failure
    assert result.article is not None
    return result.article.paragraphs


def in_order(wanted: tuple[str, ...], found: tuple[str, ...]) -> bool:
    rest = iter(found)
    return all(any(paragraph == other for other in rest) for paragraph in wanted)


@pytest.mark.parametrize("page", LEAD_PAGES, ids=ids(LEAD_PAGES))
def test_the_lead_outside_the_body_is_the_first_paragraph_once(page: GenericPage) -> None:
    paragraphs = paragraphs_of(page)
    assert paragraphs[0] == page.lead
    assert sum(page.lead in paragraph for paragraph in paragraphs) == 1


@pytest.mark.parametrize("page", LEAD_PAGES, ids=ids(LEAD_PAGES))
def test_teasers_and_related_links_are_dropped(page: GenericPage) -> None:
    paragraphs = paragraphs_of(page)
    leaked = [text for text in page.absent if any(text in paragraph for paragraph in paragraphs)]
    assert leaked == []


@pytest.mark.parametrize("page", LEAD_PAGES + TITLE_PAGES, ids=ids(LEAD_PAGES + TITLE_PAGES))
def test_the_title_is_found_wherever_the_page_gives_it_and_paragraphs_kept_in_order(
        page: GenericPage) -> None:
    result = generic(page)
    assert result.article is not None, result.failure
    assert result.article.title == page.title
    assert in_order(page.paragraphs, result.article.paragraphs), result.article.paragraphs


def test_a_page_without_any_title_still_gets_its_body() -> None:
    result = generic(NO_TITLE_PAGE)
    assert result.article is not None, result.failure
    assert in_order(NO_TITLE_PAGE.paragraphs, result.article.paragraphs), result.article.paragraphs
    problems = result.article.metadata.problems
    assert re.search("title|headline", " ".join([*problems, *problems.values()]), re.IGNORECASE), problems


def test_the_generic_pages_are_what_they_claim() -> None:
    """Each lead page has its lead between the <h1> and the body, and the teasers in the body."""
    for page in LEAD_PAGES:
        text = page.html[page.html.index("<body"):]
        assert text.index("<h1") < text.index(page.lead) < text.index(page.paragraphs[0]), page.name
        assert all(absent in text for absent in page.absent)
    assert all(p.title in p.html for p in TITLE_PAGES)
    assert "<title" not in NO_TITLE_PAGE.html and "<h1" not in NO_TITLE_PAGE.html
    assert "og:title" not in NO_TITLE_PAGE.html and "headline" not in NO_TITLE_PAGE.html
