"""Cut what a page never shows as text (scripts, styles, templates) out of its markup
before it is parsed.

Real article pages carry megabytes of inline JavaScript and JSON state (a newspaper's
2 MB pages, a 2.9 MB article whose body is 20 kB): parsing that into a tree only to throw
it away costs memory and time, and a size check on the raw page would refuse a real
article for its scripts. So the elements are removed from the decoded text first, with
one linear scan (no backtracking regex over megabytes). JSON-LD is kept, up to
JSON_LD_MAX_CHARS a block, because metadata reads it. A `<noscript>` that holds paragraphs
is the page's text for readers without JavaScript (Blogger serves its articles that way,
the script copy being a template): its content stays, without the tags. Control characters
go too: trafilatura's XML cannot hold them, and returns nothing for a page with one stray BEL
(\\x07) in a paragraph.
"""

from __future__ import annotations

import re

INERT_TAGS = ("script", "style", "noscript", "template")
JSON_LD_MAX_CHARS = 1024 * 1024
_OPENING = re.compile(r"<(script|style|noscript|template)(?=[\s/>])", re.IGNORECASE)
_CLOSING = {tag: re.compile(f"</{tag}", re.IGNORECASE) for tag in INERT_TAGS}
# Characters XML forbids (trafilatura's output is XML).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PARAGRAPH = re.compile(r"<p[\s>]", re.IGNORECASE)
_JSON_LD = re.compile(r"""type\s*=\s*["']?\s*application/ld\+json""", re.IGNORECASE)


def without_inert_elements(markup: str) -> str:
    """The markup with every script (but small JSON-LD), style, noscript and template
    element removed, content and all. An element left open runs to the end of the page,
    as it does in a browser."""
    kept: list[str] = []
    position = 0
    while (opening := _OPENING.search(markup, position)) is not None:
        tag = opening.group(1).lower()
        tag_end = markup.find(">", opening.end())
        if tag_end < 0:
            break
        closing = _CLOSING[tag].search(markup, tag_end + 1)
        end = len(markup) if closing is None else _after_tag(markup, closing.start())
        kept.append(markup[position:opening.start()])
        if tag == "script" and _small_json_ld(markup, opening.start(), tag_end, end):
            kept.append(markup[opening.start():end])
        elif tag == "noscript" and _PARAGRAPH.search(markup, tag_end, end):
            kept.append(markup[tag_end + 1:closing.start() if closing is not None else end])
        position = end
    kept.append(markup[position:])
    return _CONTROL.sub("", "".join(kept))


def _after_tag(markup: str, start: int) -> int:
    end = markup.find(">", start)
    return len(markup) if end < 0 else end + 1


def _small_json_ld(markup: str, start: int, tag_end: int, end: int) -> bool:
    return bool(_JSON_LD.search(markup, start, tag_end)) and end - tag_end <= JSON_LD_MAX_CHARS
