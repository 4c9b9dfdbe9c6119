"""An article body split into sibling sections.

Many sites cut a long article into several sibling blocks of the same kind, with ads or
newsletter boxes between them (`div.body__container` after `div.body__container`).
trafilatura takes the first block that looks like a body and loses the rest (a third of
the text on such pages). The other sections are found by structure: from the block the
extracted text starts in, up a few levels, an ancestor whose parent holds further
children of the same tag and class, each of them dense text (paragraphs, few links).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.extraction.locate import block_starting_with
from crawler.extraction.text import link_share, one_line

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# How far up from the first paragraph's block the repeated section may be.
MAX_LEVELS = 4
# A section holds at least this much text, in paragraphs of this length, and few links.
MIN_SECTION_CHARS = 200
MIN_PARAGRAPH_CHARS = 80
MAX_LINK_SHARE = 0.3
# More sections than this are a page of many small blocks, not an article cut by ads.
MAX_SECTIONS = 30


def sibling_sections(tree: HtmlElement, first_paragraph: str) -> list[HtmlElement]:
    """The body's sections in document order (the one holding the first paragraph among
    them), or [] when the body is not split."""
    start = block_starting_with(tree, first_paragraph)
    if start is None:
        return []
    for level, ancestor in enumerate(start.iterancestors()):
        parent = ancestor.getparent()
        if level >= MAX_LEVELS or parent is None or ancestor.tag in ("body", "html"):
            return []
        kind = ancestor.get("class")
        if not kind:
            continue
        same = [child for child in parent if child.tag == ancestor.tag and child.get("class") == kind]
        if len(same) > 1:
            dense = [index for index, child in enumerate(same) if child is ancestor or _dense(child)]
            if len(dense) < 2 or len(dense) > MAX_SECTIONS:
                return []
            return same[dense[0]:dense[-1] + 1]  # a short section between two long ones too
    return []


def section_chars(sections: list[HtmlElement]) -> int:
    """The text the sections hold, to tell whether reading them could add anything."""
    return sum(len(one_line(section.text_content())) for section in sections)


def _dense(element: HtmlElement) -> bool:
    if len(one_line(element.text_content())) < MIN_SECTION_CHARS or link_share(element) > MAX_LINK_SHARE:
        return False
    return any(len(one_line(p.text_content())) >= MIN_PARAGRAPH_CHARS for p in element.iter("p"))
