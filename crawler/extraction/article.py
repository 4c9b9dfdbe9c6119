"""Article extraction: HTML bytes in, title + lead + body paragraphs + metadata out (or a reason why not).

A pure function, run in worker processes during a crawl and again when re-extracting
from the archive. trafilatura finds the main text; the site profile's hints help it:
the title, lead ("VOV.VN - ...") and date come from the profile's selectors (the lead
sits outside the body, where plain trafilatura drops it), everything around the body
container and the boilerplate blocks inside it are cut out before trafilatura sees the
page, and boilerplate paragraphs are filtered after. Metadata (dates, author, section,
tags, language, canonical URL) is read by `crawler.extraction.metadata` from the page as it states it.

Pages with no body hint that matches (other sites, odd layouts) go through trafilatura's
precision mode, with its balanced mode as a guard against collapse: measured on the Zyte
benchmark's 181 pages from many sites, that beats both trafilatura's default (what
`trafilatura.extract` does) and its recall mode; see `benchmarks/extraction_quality.py`.

Text rules: Unicode NFC, invisible characters dropped, all white space (NBSP too) folded;
sub-headings, list items, block quotes, table rows (cells joined by " | ") and lines
broken by <br> are paragraphs of their own; a paragraph repeating the one before it, or
echoing the title or the lead, is dropped (a paragraph the author repeats further down is
content: recipes and interviews do that).

Failure is a value (`Failure(reason, detail)`), never an exception: the crawl records
it and goes on.
"""

from __future__ import annotations

import copy
import importlib.metadata
import re
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lxml import html
from lxml.etree import ParserError

from crawler.extraction.charsets import Undecodable, decode
from crawler.extraction.inert import drop_inert_elements, without_control_characters
from crawler.extraction.leads import find_lead
from crawler.extraction.locate import block_starting_with
from crawler.extraction.metadata import PageMetadata, css, read_metadata
from crawler.extraction.sections import section_chars, sibling_sections
from crawler.extraction.teasers import drop_teasers
from crawler.extraction.text import one_line as clean
from storage.textfiles import format_text
from storage.warc.decoding import TooLarge

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from crawler.profiles import ExtractHints

# Bump when a change alters the text produced from the same page.
# trafilatura itself is imported where it runs (run_trafilatura): the crawl process and the
# commands need this module's types and version, not a tenth of a second of its imports.
EXTRACTOR_VERSION = f"vnarchive-5/trafilatura-{importlib.metadata.version('trafilatura')}"
# What an extraction worker imports, once, in the forkserver its workers start from.
EXTRACTOR_MODULES = ("crawler.extraction.article", "trafilatura")

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Elements of trafilatura's output that hold paragraphs; anything else (hi, ref, del, ...) is inline.
BLOCK_TAGS = frozenset({"body", "div", "p", "head", "list", "item", "quote", "table", "code", "graphic"})
CELL_SEPARATOR = " | "
# Precision mode sometimes latches onto a wrong small block: when it keeps less than this share
# of what the balanced mode keeps, the balanced mode's text is used. On the Zyte set one page
# collapses (ratio 0.08, F1 0 instead of 0.85); the next lowest ratio is 0.29, on a page where
# precision is right (F1 1.00 against 0.44): 0.2 sits in that gap.
COLLAPSE_RATIO = 0.2


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What extraction made of an article page: its title, body paragraphs and metadata
    (not the `articles` table row, storage.catalogue.models.Article)."""

    title: str
    paragraphs: tuple[str, ...]
    metadata: PageMetadata = PageMetadata()

    @property
    def text(self) -> str:
        return format_text(self.title, self.paragraphs)

    @property
    def published_at(self) -> datetime | None:
        return self.metadata.published_at

    @property
    def modified_at(self) -> datetime | None:
        return self.metadata.modified_at

    def with_problem(self, name: str, problem: str) -> ArticleText:
        problems = {**self.metadata.problems, name: problem}
        return replace(self, metadata=replace(self.metadata, problems=problems))

    def published_before(self, fetched_at: datetime) -> datetime | None:
        """The publication date, unless it claims a time after the page was fetched."""
        return _not_after(self.published_at, fetched_at)

    def modified_before(self, fetched_at: datetime) -> datetime | None:
        """The modification date, unless it claims a time after the page was fetched."""
        return _not_after(self.modified_at, fetched_at)

    def document_fields(self, fetched_at: datetime) -> dict[str, Any]:
        """The `documents` columns read from the page, as of its capture: a date after the
        capture is refused (None), and why is added to `metadata_problems`."""
        meta = self.metadata
        problems = dict(meta.problems)
        for name, value in (("published_at", meta.published_at), ("modified_at", meta.modified_at)):
            if value is not None and _not_after(value, fetched_at) is None:
                problems[name] = f"{value.isoformat()} is after the capture at {fetched_at.isoformat()}"
        return {
            "published_at": self.published_before(fetched_at),
            "modified_at": self.modified_before(fetched_at),
            "author": meta.author,
            "section": meta.section,
            "tags": list(meta.tags) or None,
            "language": meta.language,
            "canonical_url": meta.canonical_url,
            "image_count": meta.image_count,
            "metadata_problems": problems or None,
        }


def _not_after(value: datetime | None, fetched_at: datetime) -> datetime | None:
    return None if value is None or value > fetched_at else value


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # a short word: empty, too_large, not_html, binary, charset, parse_error, no_text
    detail: str


@dataclass(frozen=True, slots=True)
class Extraction:
    version: str
    article: ArticleText | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class Body:
    """The body's paragraphs as found (not yet cleaned of boilerplate) and its image count."""

    paragraphs: list[str]
    image_count: int | None


def extract_article(
    body: bytes, *, content_type: str | None, hints: ExtractHints, max_bytes: int,
    url: str | None = None,
) -> Extraction:
    """Extract one article page.

    Args:
        body: the HTTP payload, Content-Encoding already removed.
        content_type: the response's Content-Type header (charset is taken from it).
        hints: the site profile's extraction hints.
        max_bytes: a memory guard: larger pages are not extracted (they are archived all the same).
        url: the page's URL, to tell links to the same site (teasers) from others; without
            it, the page's canonical URL is used.
    Returns:
        An Extraction holding either the ArticleText or the Failure.
    """
    problem = unsuitable(body, content_type, max_bytes)
    if problem is not None:
        return Extraction(EXTRACTOR_VERSION, failure=problem)
    try:
        decoded = decode(body, content_type)
    except Undecodable as error:
        return Extraction(EXTRACTOR_VERSION, failure=Failure("charset", str(error)))
    try:
        markup = without_control_characters(decoded.text)
        tree = html.document_fromstring(markup.encode("utf-8"), parser=_parser())
    except (ParserError, ValueError) as error:
        return Extraction(EXTRACTOR_VERSION, failure=Failure("parse_error", str(error)))
    drop_inert_elements(tree)
    extraction = extract_from_tree(tree, hints, url)
    if decoded.problem and extraction.article is not None:
        return replace(extraction, article=extraction.article.with_problem("charset", decoded.problem))
    return extraction


def extract_safely(
    body: bytes, *, content_type: str | None, hints: ExtractHints, max_bytes: int,
    url: str | None = None,
) -> Extraction:
    """`extract_article`, with a bug or a pathological page recorded as an `error` failure:
    one page never stops a crawl or a re-extraction."""
    try:
        return extract_article(body, content_type=content_type, hints=hints, max_bytes=max_bytes, url=url)
    except Exception as error:
        return Extraction(EXTRACTOR_VERSION, failure=Failure("error", repr(error)))


def too_large(error: TooLarge) -> Extraction:
    """A body whose decoding stopped at the cap (EXTRACT_MAX_BYTES): a bomb never decoded whole."""
    return Extraction(EXTRACTOR_VERSION, failure=Failure(
        "too_large", f"{error}, over EXTRACT_MAX_BYTES={error.limit}"))


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


def extract_from_tree(tree: HtmlElement, hints: ExtractHints, url: str | None = None) -> Extraction:
    """Title, lead, body and metadata of a parsed page (the tree is pruned in place)."""
    metadata = read_metadata(tree, hints)
    title = metadata.headline or ""
    container = first_match(tree, hints.body)
    lead = first_text(tree, hints.lead)
    if not lead and container is not None:  # before everything around the container goes
        lead = find_lead(tree, title, container, [])
    images = count_images(tree, hints.images) if hints.images else None
    body = body_text(tree, hints, container, url or metadata.canonical_url)
    if not lead and container is None and body.paragraphs:
        lead = find_lead(tree, title, block_starting_with(tree, body.paragraphs[0]), body.paragraphs)
    paragraphs = clean_paragraphs(lead, body.paragraphs, hints.drop_paragraphs, title)
    if not any(p != lead for p in paragraphs):
        return Extraction(EXTRACTOR_VERSION, failure=Failure("no_text", "no body text found"))
    metadata = replace(metadata, image_count=body.image_count if images is None else images)
    return Extraction(EXTRACTOR_VERSION, article=ArticleText(title, tuple(paragraphs), metadata))


def first_match(tree: HtmlElement, selectors: tuple[str, ...]) -> HtmlElement | None:
    for selector in selectors:
        if found := css(selector)(tree):
            return found[0]
    return None


def first_text(tree: HtmlElement, selectors: tuple[str, ...]) -> str:
    element = first_match(tree, selectors)
    return clean(element.text_content()) if element is not None else ""


def count_images(tree: HtmlElement, selectors: tuple[str, ...]) -> int:
    """Distinct images (by src) matched by the profile's image selectors."""
    sources = {element.get("src") or id(element) for selector in selectors
               for element in css(selector)(tree)}
    return len(sources)


# ---- the body -------------------------------------------------------------------


def body_text(tree: HtmlElement, hints: ExtractHints, container: HtmlElement | None,
              page_url: str | None) -> Body:
    """The profile's body container when one matches (trusted: trafilatura runs in recall
    mode inside it, without its fallback extractors, which only second-guess its choice of
    the page's main block: same texts on every development set, 15% less time), else
    trafilatura on the whole page; boilerplate blocks and teasers
    (crawler.extraction.teasers) cut out first."""
    if container is not None:
        keep_only(container)
    drop_blocks(tree, hints.drop)
    drop_teasers(tree if container is None else container, page_url)
    if container is not None:  # the profile's image selectors count them, where it has any
        images = 0 if hints.images else sum(1 for _ in container.iter("img"))
        return Body(paragraphs_of(run_trafilatura(tree, favor_recall=True, fast=True)), images)
    return generic_body(tree)


def generic_body(tree: HtmlElement) -> Body:
    """trafilatura's precision mode, unless it collapsed (kept under COLLAPSE_RATIO of what
    the balanced mode keeps). The balanced run keeps images, to count them; its text is
    not used as is, since with images come their captions."""
    precise = paragraphs_of(run_trafilatura(tree, favor_precision=True))
    balanced = run_trafilatura(tree, include_images=True)
    images = 0 if balanced is None else sum(1 for _ in balanced.iter("graphic"))
    if _chars(precise) < COLLAPSE_RATIO * _chars(paragraphs_of(balanced)):
        precise = paragraphs_of(run_trafilatura(tree))
    return Body(whole_body(precise, tree), images)


def whole_body(paragraphs: list[str], tree: HtmlElement) -> list[str]:
    """The paragraphs of every section when the body is split into sibling sections
    (crawler.extraction.sections): trafilatura in recall mode on each, as on a profile's
    body container (one run over all would again stop at the first); else the
    paragraphs as they are."""
    sections = sibling_sections(tree, paragraphs[0]) if paragraphs else []
    if section_chars(sections) <= _chars(paragraphs):  # nothing to gain: no trafilatura runs
        return paragraphs
    merged = [paragraph for section in sections for paragraph in _section_paragraphs(section)]
    return merged if _chars(merged) > _chars(paragraphs) else paragraphs


def _section_paragraphs(section: HtmlElement) -> list[str]:
    document = html.document_fromstring("<html><body><article></article></body></html>")
    document.find("body/article").append(copy.deepcopy(section))
    return paragraphs_of(run_trafilatura(document, favor_recall=True))


def _chars(paragraphs: list[str]) -> int:
    return sum(map(len, paragraphs))


def run_trafilatura(tree: HtmlElement, fast: bool = False, favor_precision: bool = False,
                    favor_recall: bool = False, include_images: bool = False) -> HtmlElement | None:
    """trafilatura's body tree (it works on a copy): tables kept, comments and links not."""
    import trafilatura  # once per process: see EXTRACTOR_VERSION

    options = copy.copy(trafilatura_options(fast, favor_precision, favor_recall, include_images))
    document = trafilatura.bare_extraction(tree, options=options)
    return None if document is None else document.body


@lru_cache(maxsize=16)
def trafilatura_options(fast: bool, precision: bool, recall: bool, images: bool) -> Any:
    """The options `bare_extraction` would build from its keywords on every call (30 µs of
    configuration reading, 2% of a sample-site extraction; the generic path calls it two or
    three times a page), built once. Each call gets a copy (1 µs): whatever a trafilatura
    version sets on it stays with that call. Output checked identical on every dev-set page."""
    from trafilatura.settings import Extractor

    return Extractor(output_format="python", fast=fast, precision=precision, recall=recall,
                     comments=False, images=images, tables=True, dedup=False,
                     with_metadata=False)


def keep_only(element: HtmlElement) -> None:
    """Remove every sibling of the element and of each of its ancestors below <html>."""
    node = element
    while (parent := node.getparent()) is not None and parent.tag != "html":
        for sibling in list(parent):
            if sibling is not node:
                parent.remove(sibling)
        parent.text = None
        node = parent


def drop_blocks(tree: HtmlElement, selectors: tuple[str, ...]) -> None:
    for selector in selectors:
        for element in css(selector)(tree):
            if element.getparent() is not None:
                element.drop_tree()


def paragraphs_of(body: HtmlElement | None) -> list[str]:
    """The paragraphs of a trafilatura body tree, in order. Every block (p, head, item,
    quote, code, table row) is one paragraph; text between blocks (trafilatura leaves some
    loose in the body or a div) is a paragraph too. A line break (<br>) ends a paragraph:
    a text file's paragraph is one line, and pages that separate paragraphs, verses or
    address lines with <br> would otherwise run them together (on the Zyte set this takes
    the share of gold paragraphs reproduced exactly from 87% to 92%)."""
    found: list[str] = []
    if body is not None:
        _collect(body, found)
    return found


def _collect(block: HtmlElement, found: list[str]) -> None:
    run = [block.text or ""]
    for child in block:
        if child.tag == "lb":
            _flush(run, found)
        elif child.tag == "row":
            _flush(run, found)
            _flush([_row_text(child)], found)
        elif child.tag in BLOCK_TAGS:
            _flush(run, found)
            _collect(child, found)
        else:
            run.append(_inline_text(child))
        run.append(child.tail or "")
    _flush(run, found)


def _row_text(row: HtmlElement) -> str:
    cells = (" ".join(paragraphs_of(cell)) for cell in row)
    return CELL_SEPARATOR.join(cell for cell in cells if cell)


def _inline_text(element: HtmlElement) -> str:
    if element.tag == "lb":
        return " "
    return (element.text or "") + "".join(_inline_text(child) + (child.tail or "") for child in element)


def _flush(run: list[str], found: list[str]) -> None:
    text = clean("".join(run))
    run.clear()
    if text:
        found.append(text)


def clean_paragraphs(lead: str, body: list[str], drop_patterns: tuple[str, ...], title: str) -> list[str]:
    """The lead, then the body without boilerplate, empty paragraphs, echoes of the title or
    lead, and a paragraph repeating the one just before it (an extraction artefact)."""
    kept = [lead] if lead else []
    for paragraph in body:
        if not paragraph or paragraph in (title, lead) or _matches_any(drop_patterns, paragraph):
            continue
        if kept and kept[-1] == paragraph:
            continue
        kept.append(paragraph)
    return kept


def _matches_any(patterns: tuple[str, ...], text: str) -> bool:
    return any(_regex(pattern).search(text) for pattern in patterns)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=1)
def _parser() -> html.HTMLParser:
    # huge_tree: a multi-megabyte inline script is one text node, over libxml2's default limit
    # (the page would end where it starts); the decoded size is capped before (EXTRACT_MAX_BYTES).
    return html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
