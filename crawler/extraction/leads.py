"""The lead (sapo, standfirst, summary) of a page without a profile.

News pages set the lead apart from the body: `h2.sapo`, `p.description`, `div.lead`,
`.article__summary`, `.standfirst`... between the headline and the body container, where
trafilatura, which takes the body container, leaves it out (1 page in 8 of Vietnamese
portals). A lead is recognised by its place and its markup, not its wording: an element
whose class or id names a lead, or whose text is the page's own description
(`meta name=description`, og:description), standing after the headline and before the
body's first paragraph, with little link text. It is kept as the first paragraph once:
not when the body already holds it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from crawler.extraction.locate import block_starting_with, text_prefix
from crawler.extraction.metadata import one_line
from crawler.extraction.titles import key

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Class or id words that name a lead ("sapo" is the Vietnamese press's word for it).
LEAD_NAMES = re.compile(
    r"(?:^|[\s_-])(?:sapo|lead|leadin|lede|summary|standfirst|description|desc|excerpt|intro|"
    r"introduction|dek|deck|chapo|chapeau|subtitle|subheadline|abstract)(?:$|[\s_-])",
    re.IGNORECASE)
LEAD_TAGS = ("p", "div", "h2", "h3", "h4", "section", "span", "strong", "em", "b")
# Chrome a lead never sits in.
OUTSIDE = frozenset({"header", "nav", "footer", "aside", "form", "figure", "figcaption", "li", "a", "button"})
MIN_CHARS, MAX_CHARS = 40, 1500
MAX_LINK_SHARE = 0.5


DESCRIPTION_KEYS = frozenset({"description", "og:description", "twitter:description"})


def lead_candidates(tree: HtmlElement) -> list[HtmlElement]:
    """Elements that may be the lead, in document order (read before the tree is pruned)."""
    described = {key(one_line(meta.get("content") or "")) for meta in tree.iter("meta")
                 if (meta.get("name") or meta.get("property") or "").strip().lower() in DESCRIPTION_KEYS}
    described = {text for text in described if len(text) >= MIN_CHARS // 2}
    found = []
    for element in tree.iter(*LEAD_TAGS):
        named = LEAD_NAMES.search(f"{element.get('class') or ''} {element.get('id') or ''}")
        if not named and not described:
            continue
        text = one_line(text_prefix(element, MAX_CHARS + 1))
        if not MIN_CHARS <= len(text) <= MAX_CHARS or not (named or key(text) in described):
            continue
        if not _in_chrome(element):
            found.append(element)
    return found


def generic_lead(tree: HtmlElement, candidates: list[HtmlElement], title: str, body: list[str]) -> str:
    """The first candidate between the headline and the body's first paragraph, unless the
    body already holds it; else ""."""
    if not body or not candidates:
        return ""
    order = {element: index for index, element in enumerate(tree.iter())}
    start = _position_of_headline(tree, title, order)
    end = _position_of_text(tree, body[0], order)
    known = {key(paragraph) for paragraph in body}
    first = key(body[0])
    for element in candidates:
        position = order.get(element)
        if position is None or position <= start or (end is not None and position >= end):
            continue
        text = one_line(element.text_content())
        if _link_share(element, text) > MAX_LINK_SHARE:
            continue
        lead_key = key(text)
        if lead_key in known or lead_key in first or first in lead_key or key(title) == lead_key:
            return ""
        return text
    return ""


def _in_chrome(element: HtmlElement) -> bool:
    return any(ancestor.tag in OUTSIDE for ancestor in element.iterancestors())


def _link_share(element: HtmlElement, text: str) -> float:
    linked = sum(len(one_line(link.text_content())) for link in element.iter("a"))
    return linked / len(text) if text else 1.0


def _position_of_headline(tree: HtmlElement, title: str, order: dict[HtmlElement, int]) -> int:
    """Where the headline stands: the h1 that reads as the title, else the first h1, else the top."""
    headings = list(tree.iter("h1"))
    for heading in headings:
        if title and key(one_line(heading.text_content())) == key(title):
            return order.get(heading, -1)
    return order.get(headings[0], -1) if headings else -1


def _position_of_text(tree: HtmlElement, paragraph: str, order: dict[HtmlElement, int]) -> int | None:
    """Where the body's first paragraph stands."""
    found = block_starting_with(tree, paragraph)
    return None if found is None else order.get(found)
