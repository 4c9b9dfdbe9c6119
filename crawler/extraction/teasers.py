"""Teasers: paragraphs and blocks that point the reader to other pages of the same site.

"Xem thêm: <a>…</a>", ">>> <a>…</a>", "» <a>…</a>", "Read more: <a>…</a>", a bare linked
headline, a box of them under "Tin liên quan": every site words them its own way, so they
are recognised by structure, not wording. A paragraph is a teaser when nearly all its text
is the text of links to the same site and what is left is a short lead-in (a few words,
arrows, a colon); a block is a box of teasers when it holds several such links and little
else. A genuine paragraph that merely contains a link has text of its own and is kept.
Links to other sites are sources, not teasers, and never make a paragraph one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urljoin, urlsplit

from crawler.extraction.text import WORD, one_line

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Elements that hold one paragraph (or one line of a list) of text.
LINE_TAGS = ("p", "li", "dd", "dt", "blockquote", "center")
# A linked sub-heading in an article is the article's own: never a teaser line by itself.
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# Elements that hold paragraphs: a box of teasers is one of these.
BOX_TAGS = ("div", "ul", "ol", "section", "aside", "table", "dl", "nav")
BLOCK_TAGS = frozenset(LINE_TAGS + HEADINGS + BOX_TAGS + ("article", "main", "header", "footer", "form"))
# What may stand around the links of a teaser: this many words at most
LEAD_IN_WORDS = 4
# ... or a label ending in a colon of at most this many words ("Mời quý độc giả xem thêm:").
LABEL_WORDS = 7
# A linked headline has at least this many words ("Video", "Tại đây", a product name in a
# list of ingredients are not teasers).
MIN_TITLE_WORDS = 5
# ... or this many after a mark that says what follows is a pointer ("Xem thêm:", ">>>").
MIN_MARKED_WORDS = 2
# A list of at least this many items, each with a link of a few words (a headline, not a
# name) and at most this many other words, is a list of other stories.
MIN_LIST_ITEMS = 3
MIN_LIST_LINK_WORDS = 3
LIST_ITEM_OTHER_WORDS = 20
# After a teaser's link: nothing but marks, or a remark in brackets ("(video)", "[ảnh]").
AFTER_LINK = re.compile(r"\W*(?:[(\[][^)\]]{0,40}[)\]])?\W*")
# Links to files are documents the article cites, not other stories.
FILE_SUFFIXES = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".zip",
                 ".rar", ".7z", ".csv", ".txt", ".jpg", ".jpeg", ".png", ".gif", ".mp3", ".mp4")
# A box is a box of teasers when at least this share of its letters is link text.
BOX_LINK_SHARE = 0.7
# A link inside one of these is part of a line of text, never a line of its own.
INLINE_PARENTS = frozenset({"span", "strong", "b", "em", "i", "u", "small", "font", "label", "a"})


@dataclass(slots=True)
class Words:
    """Words of an element's text: inside links to other pages of the site, and the rest."""

    linked: int = 0
    other: int = 0
    links: int = 0  # links to other pages of the site, outermost only
    blocks: bool = False  # has a block child (then it is a box, not a line)


def drop_teasers(root: HtmlElement, page_url: str | None) -> None:
    """Remove every teaser line and teaser box under root."""
    site = _Site(page_url)
    counts = _count_words(root, site)
    candidates = list(root.iter(*LINE_TAGS, *BOX_TAGS, "a"))
    index = 0
    while index < len(candidates):
        element = candidates[index]
        index += 1
        if element is root or (element.tag == "a" and not _stands_alone(element)):
            continue
        if _is_teaser(element, counts[element], site) or _is_teaser_list(element, counts):
            index += sum(1 for _ in element.iter(*LINE_TAGS, *BOX_TAGS, "a")) - 1  # gone with it
            element.drop_tree()


def _count_words(root: HtmlElement, site: _Site) -> dict[HtmlElement, Words]:
    """Every element's Words, in one pass from the leaves up (no subtree is walked twice:
    pages have thousands of nested blocks)."""
    counts: dict[HtmlElement, Words] = {}
    in_link: dict[HtmlElement, bool] = {root: False}
    for element in root.iter():  # document order: a parent before its children
        if element is not root:
            parent_in_link = in_link[element.getparent()]
            in_link[element] = parent_in_link or (
                element.tag == "a" and site.is_other_page(element.get("href")))
    for element in reversed(list(root.iter())):  # children before their parent
        words = counts.setdefault(element, Words())
        text_words = len(WORD.findall(element.text or "")) if isinstance(element.tag, str) else 0
        if in_link[element]:
            words.linked += text_words
        else:
            words.other += text_words
        if element.tag == "a" and in_link[element] and (
                element is root or not in_link[element.getparent()]):
            words.links += 1
        for child in element:
            child_words = counts[child]
            tail_words = len(WORD.findall(child.tail or ""))
            words.linked += child_words.linked + (tail_words if in_link[element] else 0)
            words.other += child_words.other + (0 if in_link[element] else tail_words)
            words.links += child_words.links
            words.blocks = words.blocks or child.tag in BLOCK_TAGS
    return counts


def _stands_alone(link: HtmlElement) -> bool:
    """A link that is a line of its own between blocks (a card: "Also on …: <title>"), not
    a link inside a sentence."""
    parent = link.getparent()
    if parent is None or parent.tag in LINE_TAGS or parent.tag in HEADINGS or parent.tag in INLINE_PARENTS:
        return False
    previous = link.getprevious()
    before = parent.text if previous is None else previous.tail
    return not (before or "").strip() and not (link.tail or "").strip()


def _is_teaser(element: HtmlElement, words: Words, site: _Site) -> bool:
    if words.links == 0 or words.linked == 0:
        return False
    if words.links > 1 or words.blocks:
        return _is_box(words)
    if words.other > LABEL_WORDS + 2 or words.linked < MIN_MARKED_WORDS:
        return False
    return _is_one_link_line(element, site)


def _is_teaser_list(element: HtmlElement, counts: dict[HtmlElement, Words]) -> bool:
    """A list whose every item is a short line around a link to the site ("How Facebook
    <a>gets the First Amendment backward</a>"): a list of other stories, however much of
    each headline the link covers."""
    if element.tag not in ("ul", "ol"):
        return False
    items = [counts[item] for item in element if item.tag == "li"]
    return len(items) >= MIN_LIST_ITEMS and all(
        item.links >= 1 and item.linked >= MIN_LIST_LINK_WORDS and item.other <= LIST_ITEM_OTHER_WORDS
        for item in items)


def _is_box(words: Words) -> bool:
    """Several links and little else: a heading and separators at most."""
    total = words.linked + words.other
    return words.linked / total >= BOX_LINK_SHARE and words.other <= LABEL_WORDS


def _is_one_link_line(element: HtmlElement, site: _Site) -> bool:
    """A lead-in ("Xem thêm:", ">>>", "»", "Read more") or nothing, then the link, then at
    most a remark in brackets ("(video)"): not a sentence that happens to start with a link."""
    text = one_line(element.text_content())
    link_text = next((one_line(link.text_content()) for link in element.iter("a")
                      if site.is_other_page(link.get("href")) and one_line(link.text_content())), "")
    start = text.find(link_text) if link_text else -1
    if start < 0:
        return False
    before, after = text[:start], text[start + len(link_text):]
    before_words = len(WORD.findall(before))
    labelled = before.rstrip().endswith(":")
    lead_in = before_words <= LEAD_IN_WORDS or (before_words <= LABEL_WORDS and labelled)
    marked = labelled or (before.strip() != "" and before_words == 0)  # "Xem thêm:", ">>>", "»"
    long_enough = len(WORD.findall(link_text)) >= (MIN_MARKED_WORDS if marked else MIN_TITLE_WORDS)
    return lead_in and long_enough and AFTER_LINK.fullmatch(after) is not None


class _Site:
    """Which links point to another page of the page's own site."""

    def __init__(self, page_url: str | None):
        self.page_url = page_url or ""
        try:
            self.page = urlsplit(self.page_url)
        except ValueError:
            self.page_url, self.page = "", urlsplit("")
        self.host = _host(self.page)
        self._answers: dict[str, bool] = {}  # menus repeat their links, and lines are asked twice

    def is_other_page(self, href: str | None) -> bool:
        if not href:
            return False
        if href not in self._answers:
            self._answers[href] = self._is_other_page(href)
        return self._answers[href]

    def _is_other_page(self, href: str) -> bool:
        if href.startswith("#"):
            return False
        try:
            link = urlsplit(urljoin(self.page_url, href.strip()))
            written_host = urlsplit(href.strip()).netloc
        except ValueError:  # an unreadable URL ("http://[name]/") points nowhere we know
            return False
        if link.scheme not in ("http", "https", "") or link.path.lower().endswith(FILE_SUFFIXES):
            return False
        host = _host(link)
        if host and self.host and host != self.host:
            return False
        if written_host and not self.host:
            return False  # an absolute link, and no page URL to say whose site it is
        return link._replace(fragment="") != self.page._replace(fragment="")


def _host(url: SplitResult) -> str:
    try:
        host = (url.hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.").removeprefix("m.")
