"""The lead (sapo, standfirst, summary) where the profile names none.

News pages set the lead apart from the body: `h2.sapo`, `p.description`, `div.lead`,
`.article__summary`, `.standfirst`... between the headline and the body container, where
trafilatura, which takes the body container, leaves it out (1 page in 8 of Vietnamese
portals). A lead is recognised by its place and its markup, not its wording: an element
whose class or id has a word naming a lead (and none naming a picture, a video or an
author: "image-desc" is a caption), or whose text is the page's own description
(`meta name=description`, og:description); it stands after the headline and before the
body, not in page chrome nor beside a picture, with little link text. Where the page has no
headline to stand after, only the page's own description can say which text is the lead.
It is kept as the first paragraph once: not when the body already holds it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crawler.extraction.text import key, link_share, one_line, text_prefix

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Class or id words that name a lead ("sapo" is the Vietnamese press's word for it) ...
LEAD_WORDS = frozenset({
    "sapo", "lead", "leadin", "lede", "summary", "standfirst", "description", "desc", "excerpt",
    "intro", "introduction", "dek", "deck", "chapo", "chapeau", "subtitle", "subheadline", "abstract",
})
# ... unless another word says it describes something else.
OTHER_WORDS = frozenset({
    "image", "img", "photo", "picture", "video", "media", "caption", "figure", "gallery", "thumb",
    "author", "byline", "credit", "meta", "card", "item", "teaser", "related",
})
NAME_PARTS = re.compile(r"[\s_-]+")
LEAD_TAGS = ("p", "div", "h2", "h3", "h4", "section", "span", "strong", "em", "b")
# Chrome a lead never sits in, and what it never stands beside.
OUTSIDE = frozenset({"header", "nav", "footer", "aside", "form", "figure", "figcaption", "li", "a", "button"})
PICTURES = ("img", "video", "figure", "picture", "iframe")
DESCRIPTION_KEYS = frozenset({"description", "og:description", "twitter:description"})
MIN_CHARS, MAX_CHARS = 40, 1500
MAX_LINK_SHARE = 0.5


def find_lead(tree: HtmlElement, title: str, body_start: HtmlElement | None, body: list[str]) -> str:
    """The first lead candidate between the headline and body_start (the profile's body
    container, or the block the extracted body starts in), unless the body already holds
    it; else ""."""
    described = _descriptions(tree)
    order = {element: index for index, element in enumerate(tree.iter())}
    start = _position_of_headline(tree, title, order)
    end = order.get(body_start) if body_start is not None else None
    around_body = set(body_start.iterancestors()) if body_start is not None else set()
    first = key(body[0]) if body else ""
    for element in tree.iter(*LEAD_TAGS):
        position = order[element]
        if (start is not None and position <= start) or (end is not None and position >= end) \
                or element in around_body:  # a block holding the body is not its lead
            continue
        text = _candidate_text(element, described, named_counts=start is not None)
        if not text:
            continue
        lead_key = key(text)
        overlaps_first = bool(first) and (lead_key in first or first in lead_key)
        if overlaps_first or lead_key == key(title) or lead_key in {key(p) for p in body}:
            return ""
        return text
    return ""


def _candidate_text(element: HtmlElement, described: set[str], named_counts: bool) -> str:
    """The element's text if it may be the lead, else ""."""
    named = named_counts and _named_lead(element)
    if not named and not _may_be_described(element, described):
        return ""
    text = one_line(text_prefix(element, MAX_CHARS + 1))
    if not MIN_CHARS <= len(text) <= MAX_CHARS or not (named or key(text) in described):
        return ""
    if _in_chrome(element) or _beside_a_picture(element) or link_share(element) > MAX_LINK_SHARE:
        return ""
    return text


def _may_be_described(element: HtmlElement, described: set[str]) -> bool:
    """A cheap look at the element's own first text before its whole text is read."""
    opening = key(element.text or "")[:20]
    return bool(opening) and any(text.startswith(opening) for text in described)


def _named_lead(element: HtmlElement) -> bool:
    parts = {part.lower() for name in (element.get("class"), element.get("id")) if name
             for part in NAME_PARTS.split(name) if part}
    return bool(parts & LEAD_WORDS) and not parts & OTHER_WORDS


def _descriptions(tree: HtmlElement) -> set[str]:
    keys = {key(one_line(meta.get("content") or "")) for meta in tree.iter("meta")
            if (meta.get("name") or meta.get("property") or "").strip().lower() in DESCRIPTION_KEYS}
    return {text for text in keys if len(text) >= MIN_CHARS // 2}


def _in_chrome(element: HtmlElement) -> bool:
    return any(ancestor.tag in OUTSIDE for ancestor in element.iterancestors())


def _beside_a_picture(element: HtmlElement) -> bool:
    parent = element.getparent()
    return parent is not None and any(child.tag in PICTURES for child in parent)


def _position_of_headline(tree: HtmlElement, title: str, order: dict[HtmlElement, int]) -> int | None:
    """Where the headline stands: the h1 that reads as the title, else the first h1; None
    for a page without one."""
    headings = list(tree.iter("h1"))
    for heading in headings:
        if title and key(one_line(heading.text_content())) == key(title):
            return order[heading]
    return order[headings[0]] if headings else None
