"""Small text measures shared by the extraction rules (titles, leads, teasers, sections)."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

WORD = re.compile(r"\w+")
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))


def one_line(text: str) -> str:
    """NFC, invisible characters removed, white space folded to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).translate(INVISIBLE).split())


def key(text: str) -> str:
    """Letters and digits only, case and accents folded: "VOV.VN", "vov vn" and "Báo Mẫu"
    against a host's "baomau" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("đ", "d"))
    return re.sub(r"\W+|_", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def words(text: str) -> list[str]:
    return WORD.findall(text)


def text_prefix(element: HtmlElement, chars: int) -> str:
    """The start of an element's text, without building all of it (pages nest thousands
    of blocks: the whole text of each would be quadratic)."""
    parts, length = [], 0
    for piece in element.itertext():
        parts.append(piece[:chars - length])  # a 1 MB text node gives its first chars only
        length += len(parts[-1])
        if length >= chars:
            break
    return "".join(parts)


def link_share(element: HtmlElement) -> float:
    """The share of an element's text that is link text (1.0 for an element without text)."""
    text = one_line(element.text_content())
    if not text:
        return 1.0
    return sum(len(one_line(link.text_content())) for link in element.iter("a")) / len(text)
