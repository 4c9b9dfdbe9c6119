"""What a page never shows as text: scripts, styles, templates, and characters XML forbids.

Real article pages carry megabytes of inline JavaScript and JSON state (a newspaper's 2 MB
pages, a 2.9 MB article whose body is 20 kB). They are parsed (libxml2's limits on huge text
nodes lifted: a 12 MB JSON blob would otherwise end the document where it starts; the
decoded size is already capped by EXTRACT_MAX_BYTES) and cut out of the tree at once, so
nothing after them reads or counts them. The HTML parser decides what is a script, which a
scan of the text cannot do safely (a `<script` in a comment, an attribute or a title).

JSON-LD is kept, up to JSON_LD_MAX_CHARS a block, because metadata reads it. A `<noscript>`
holding real paragraphs is the page's text for readers without JavaScript (Blogger serves
its articles that way, the script copy being a template): its content stays, without the
tag; a one-line "please enable JavaScript" does not. Control characters are cut from the
text before parsing: trafilatura's output is XML, which cannot hold them, and it returns
nothing for a page with one stray BEL (\\x07) in a paragraph.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Also the elements libxml2 reads as raw text (their content would stay as literal markup).
INERT_TAGS = ("script", "style", "noscript", "template", "noembed", "noframes", "iframe", "xmp")
JSON_LD_MAX_CHARS = 1024 * 1024
# A <noscript> is kept (unwrapped) when it holds at least this much paragraph text.
NOSCRIPT_MIN_CHARS = 200
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def without_control_characters(markup: str) -> str:
    return _CONTROL.sub("", markup)


def drop_inert_elements(tree: HtmlElement) -> None:
    """Remove every script (but small JSON-LD), style, template and noscript (but one that
    holds the page's text) from the tree, content and all; their tails stay."""
    for element in list(tree.iter(*INERT_TAGS)):
        if element.getparent() is None or _inside_dropped(element):
            continue
        if element.tag == "script" and _small_json_ld(element):
            continue
        if element.tag == "noscript" and _holds_text(element):
            element.drop_tag()
        else:
            element.drop_tree()


def _inside_dropped(element: HtmlElement) -> bool:
    """Already gone with an ancestor removed before it (its parent chain no longer reaches <html>)."""
    node = element
    while (parent := node.getparent()) is not None:
        node = parent
    return node.tag != "html"


def _small_json_ld(script: HtmlElement) -> bool:
    kind = (script.get("type") or "").strip().lower()
    return kind == "application/ld+json" and len(script.text or "") <= JSON_LD_MAX_CHARS


def _holds_text(noscript: HtmlElement) -> bool:
    return sum(len(p.text_content().strip()) for p in noscript.iter("p")) >= NOSCRIPT_MIN_CHARS
