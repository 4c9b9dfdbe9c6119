"""Article extraction: HTML bytes in, title + lead + body paragraphs out (or a reason why not).

A pure function, run in worker processes during a crawl and again when re-extracting
from the archive. trafilatura finds the main text; the site profile's hints help it:
the title, lead ("VOV.VN - ...") and date come from the profile's selectors (the lead
sits outside the body, where plain trafilatura drops it), boilerplate blocks are cut
out before trafilatura sees the page, and boilerplate paragraphs are filtered after.

Failure is a value (`Failure(reason, detail)`), never an exception: the crawl records
it and goes on.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

import trafilatura
from lxml import html
from lxml.etree import ParserError
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

from crawler.dates import parse_date
from storage.textfiles import format_text

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from crawler.profiles import ExtractHints

# Bump when a change alters the text produced from the same page.
EXTRACTOR_VERSION = f"vnarchive-2/trafilatura-{trafilatura.__version__}"

HTML_TYPES = ("text/html", "application/xhtml+xml")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
PARAGRAPH_TAGS = {"p", "head", "item", "quote"}


@dataclass(frozen=True, slots=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    published_at: datetime | None = None

    @property
    def text(self) -> str:
        return format_text(self.title, self.paragraphs)

    def published_before(self, fetched_at: datetime) -> datetime | None:
        """The publication date, unless it claims a time after the page was fetched."""
        if self.published_at is None or self.published_at > fetched_at:
            return None
        return self.published_at


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # a short word: empty, too_large, not_html, binary, charset, no_title, no_text
    detail: str


@dataclass(frozen=True, slots=True)
class Extraction:
    version: str
    article: Article | None = None
    failure: Failure | None = None


def extract_article(
    body: bytes, *, content_type: str | None, hints: ExtractHints, max_bytes: int
) -> Extraction:
    """Extract one article page.

    Args:
        body: the HTTP payload, Content-Encoding already removed.
        content_type: the response's Content-Type header (charset is taken from it).
        hints: the site profile's extraction hints.
        max_bytes: larger pages are not extracted (they are archived all the same).
    Returns:
        An Extraction holding either the Article or the Failure.
    """
    problem = unsuitable(body, content_type, max_bytes)
    if problem is not None:
        return Extraction(EXTRACTOR_VERSION, failure=problem)
    text = decode(body, content_type)
    if isinstance(text, Failure):
        return Extraction(EXTRACTOR_VERSION, failure=text)
    try:
        tree = html.document_fromstring(text.encode("utf-8"), parser=_parser())
    except (ParserError, ValueError) as error:
        return Extraction(EXTRACTOR_VERSION, failure=Failure("parse_error", str(error)))
    return extract_from_tree(tree, hints)


def unsuitable(body: bytes, content_type: str | None, max_bytes: int) -> Failure | None:
    if not body.strip():
        return Failure("empty", "the response body is empty")
    if len(body) > max_bytes:
        return Failure("too_large", f"{len(body)} bytes is over EXTRACT_MAX_BYTES={max_bytes}")
    media_type = (content_type or "text/html").split(";")[0].strip().lower()
    if media_type not in HTML_TYPES:
        return Failure("not_html", f"Content-Type is {media_type}")
    if b"\x00" in body[:4096]:
        return Failure("binary", "NUL bytes in what claims to be HTML")
    return None


def decode(body: bytes, content_type: str | None) -> str | Failure:
    """Bytes to text: valid UTF-8 wins over any declaration (a mis-declared charset is far
    more common than Vietnamese text in another encoding that is also valid UTF-8); then
    the HTTP charset, then the <meta> charset. Nothing is guessed beyond that."""
    declared = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(body)
    for encoding in ("utf-8-sig", declared, meta):
        if encoding is None:
            continue
        try:
            return body.decode(resolve_encoding(encoding) or encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return Failure("charset", f"not valid UTF-8, nor HTTP charset {declared!r}, nor meta {meta!r}")


def extract_from_tree(tree: HtmlElement, hints: ExtractHints) -> Extraction:
    title = first_text(tree, hints.title) or meta_content(tree, "og:title")
    if not title:
        return Extraction(EXTRACTOR_VERSION, failure=Failure("no_title", "no title found"))
    lead = first_text(tree, hints.lead)
    published = first_date(tree, hints.published)
    prune(tree, hints)
    body = main_text(tree)
    paragraphs = clean_paragraphs([lead, *body], hints.drop_paragraphs, title)
    if not any(p != lead for p in paragraphs):
        return Extraction(EXTRACTOR_VERSION, failure=Failure("no_text", "no body text found"))
    return Extraction(EXTRACTOR_VERSION, article=Article(title, tuple(paragraphs), published))


def first_match(tree: HtmlElement, selectors: tuple[str, ...]) -> HtmlElement | None:
    for selector in selectors:
        if found := _css(selector)(tree):
            return found[0]
    return None


def first_text(tree: HtmlElement, selectors: tuple[str, ...]) -> str:
    element = first_match(tree, selectors)
    return clean(element.text_content()) if element is not None else ""


def meta_content(tree: HtmlElement, property_name: str) -> str:
    for element in tree.iter("meta"):
        if property_name in (element.get("property"), element.get("name")):
            return clean(element.get("content", ""))
    return ""


def first_date(tree: HtmlElement, selectors: tuple[str, ...]) -> datetime | None:
    element = first_match(tree, selectors)
    if element is None:
        return None
    value = parse_date(element.get("content") or element.get("datetime") or element.text_content())
    return value.astimezone(UTC) if value else None


def prune(tree: HtmlElement, hints: ExtractHints) -> None:
    """Cut boilerplate out, and everything around the body container when one matches."""
    for selector in (*hints.title, *hints.lead):
        for element in _css(selector)(tree):
            element.drop_tree()
    container = first_match(tree, hints.body)
    if container is not None:
        keep_only(container)
    for selector in hints.drop:
        for element in _css(selector)(tree):
            if element.getparent() is not None:
                element.drop_tree()


def keep_only(element: HtmlElement) -> None:
    """Remove every sibling of the element and of each of its ancestors below <html>."""
    node = element
    while (parent := node.getparent()) is not None and parent.tag != "html":
        for sibling in list(parent):
            if sibling is not node:
                parent.remove(sibling)
        parent.text = None
        node = parent


def main_text(tree: HtmlElement) -> list[str]:
    document = trafilatura.bare_extraction(
        tree, favor_recall=True, include_comments=False, include_tables=False,
        include_images=False, with_metadata=False, deduplicate=False,
    )
    if document is None or document.body is None:
        return []
    return [clean("".join(element.itertext())) for element in paragraph_elements(document.body)]


def paragraph_elements(body: HtmlElement) -> list[HtmlElement]:
    """trafilatura's <p>, <head>, list <item> and bare <quote>, outermost first, in order."""
    found: list[HtmlElement] = []
    for element in body.iter(*PARAGRAPH_TAGS):
        if any(ancestor in found for ancestor in element.iterancestors(*PARAGRAPH_TAGS)):
            continue
        if element.tag == "quote" and element.find(".//p") is not None:
            continue
        found.append(element)
    return found


def clean_paragraphs(paragraphs: list[str], drop_patterns: tuple[str, ...], title: str) -> list[str]:
    kept: list[str] = []
    seen: set[str] = {title}
    for paragraph in paragraphs:
        if not paragraph or paragraph in seen or _matches_any(drop_patterns, paragraph):
            continue
        seen.add(paragraph)
        kept.append(paragraph)
    return kept


def clean(text: str) -> str:
    """NFC, invisible characters removed, all white space (NBSP too) folded to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).translate(INVISIBLE).split())


def _matches_any(patterns: tuple[str, ...], text: str) -> bool:
    return any(_regex(pattern).search(text) for pattern in patterns)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=256)
def _css(selector: str):  # type: ignore[no-untyped-def]
    from lxml.cssselect import CSSSelector

    return CSSSelector(selector)


@lru_cache(maxsize=1)
def _parser() -> html.HTMLParser:
    return html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
