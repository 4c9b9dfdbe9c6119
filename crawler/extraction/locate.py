"""Finding where extracted text came from in the page (trafilatura works on a copy and
gives text, not elements)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.extraction.text import key, text_prefix

if TYPE_CHECKING:
    from lxml.html import HtmlElement

BLOCKS = frozenset({"p", "div", "li", "blockquote", "h2", "h3", "h4", "td", "section", "article", "body"})
# How much of a paragraph's start identifies it.
START_CHARS = 60


def block_starting_with(tree: HtmlElement, paragraph: str) -> HtmlElement | None:
    """The innermost block whose text starts with the paragraph. One pass over the text
    nodes: the first whose text could open the paragraph, checked against its block (a
    menu item "Hà Nội" is not the start of "Hà Nội sáng nay ...")."""
    wanted = key(paragraph)[:START_CHARS]
    if not wanted:
        return None
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        for text, owner in ((element.text, element), (element.tail, element.getparent())):
            if owner is None or not text or text.isspace():  # most text nodes: layout only
                continue
            piece = key(text)
            if not piece or not (wanted.startswith(piece) or piece.startswith(wanted)):
                continue
            block = _block_of(owner)
            if block is not None and key(text_prefix(block, 2 * len(wanted) + 40)).startswith(wanted):
                return block
    return None


def _block_of(element: HtmlElement) -> HtmlElement | None:
    node: HtmlElement | None = element
    while node is not None and node.tag not in BLOCKS:
        node = node.getparent()
    return node
