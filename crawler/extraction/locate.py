"""Finding where extracted text came from in the page (trafilatura works on a copy and
gives text, not elements)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.extraction.titles import key

if TYPE_CHECKING:
    from lxml.html import HtmlElement

BLOCKS = ("p", "div", "li", "blockquote", "h2", "h3", "td", "section", "article")


def text_prefix(element: HtmlElement, chars: int) -> str:
    """The start of an element's text, without building all of it (pages nest thousands
    of blocks: the whole text of each would be quadratic)."""
    parts, length = [], 0
    for piece in element.itertext():
        parts.append(piece)
        length += len(piece)
        if length >= chars:
            break
    return "".join(parts)


def block_starting_with(tree: HtmlElement, paragraph: str) -> HtmlElement | None:
    """The innermost block whose text starts with the paragraph."""
    wanted = key(paragraph)[:60]
    if not wanted:
        return None
    found = None
    for element in tree.iter(*BLOCKS):
        if key(text_prefix(element, 2 * len(wanted) + 40)).startswith(wanted):
            found = element  # later matches are deeper (document order): the innermost wins
        elif found is not None and not is_under(element, found):
            break
    return found


def is_under(element: HtmlElement, ancestor: HtmlElement) -> bool:
    return any(node is ancestor for node in element.iterancestors())
