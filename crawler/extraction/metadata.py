"""Article metadata as the page states it: dates, author, section, tags, language, canonical URL.

Each field has sources tried in order, the first usable one wins: the site profile's
selectors first (site knowledge beats generic conventions), then <meta> tags (Open Graph,
`article:*`, `itemprop`), then JSON-LD (schema.org Article types). Nothing is inferred from
the text, the URL or the clock: a field the page does not state stays None, and a value the
page states but that cannot be used (an unreadable date, a date without a time zone where
the profile names none, a relative canonical URL) stays None with the reason recorded in
`problems`, so a wrong value never reaches the catalogue looking like a right one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml.cssselect import CSSSelector

from crawler.extraction.text import one_line
from crawler.extraction.titles import site_name_keys, without_site_name
from storage.dates import DateRefused, read_date, zone_named

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from crawler.profiles import ExtractHints

# schema.org types whose properties describe the article itself (not the site or a breadcrumb).
ARTICLE_TYPES = frozenset({
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "ReviewNewsArticle", "AskPublicNewsArticle", "BlogPosting",
    "LiveBlogPosting", "SocialMediaPosting", "TechArticle", "Report", "ScholarlyArticle",
})


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What the page says about the article. `problems` maps a field to why a value the
    page gave was refused (the field is then None)."""

    headline: str | None = None
    published_at: datetime | None = None
    modified_at: datetime | None = None
    author: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    canonical_url: str | None = None
    image_count: int | None = None
    problems: dict[str, str] = field(default_factory=dict, hash=False)  # hashable all the same


class Refused(ValueError):
    """A value the page gives for a field, but that cannot be used; the message says why."""


def read_metadata(tree: HtmlElement, hints: ExtractHints) -> PageMetadata:
    """Read every field from the unpruned page (tags, dates and breadcrumbs sit outside the body)."""
    page = _Page(tree)
    zone = zone_named(hints.timezone)
    problems: dict[str, str] = {}

    def pick(name: str, candidates: Iterable[str], convert: Callable[[str], Any]) -> Any:
        value, problem = first_usable(candidates, convert)
        if problem:
            problems[name] = problem
        return value

    def to_date(text: str) -> datetime | None:
        return parse_page_date(text, zone)

    headline = pick("headline", page.titles(hints.title), one_line)
    if not headline:
        problems["title"] = ("no title: none in the profile's selectors, og:title, twitter:title, "
                             "JSON-LD headline, <title> or an h1")
    return PageMetadata(
        headline=headline,
        published_at=pick("published_at", page.values(
            hints.published, ("article:published_time", "datepublished"), ("datePublished",)), to_date),
        modified_at=pick("modified_at", page.values(
            hints.modified, ("article:modified_time", "og:updated_time", "datemodified"), ("dateModified",)),
            to_date),
        author=pick("author", page.values(hints.author, ("author", "article:author"), ("author",)),
                    person_name),
        section=pick("section", page.values(hints.section, ("article:section",), ("articleSection",)),
                     one_line),
        tags=page.tags(hints.tags),
        language=pick("language", page.languages(), language_tag),
        canonical_url=pick("canonical_url", page.canonicals(), absolute_url),
        problems=problems,
    )


def first_usable(candidates: Iterable[str], convert: Callable[[str], Any]) -> tuple[Any, str | None]:
    """The first candidate that converts, else None and why the first one found was refused."""
    problem = None
    for candidate in candidates:
        try:
            value = convert(candidate)
        except Refused as refused:
            problem = problem or str(refused)
            continue
        if value:
            return value, None
    return None, problem


class _Page:
    """The page's metadata sources, read once: <meta> contents by key, JSON-LD article objects."""

    def __init__(self, tree: HtmlElement):
        self.tree = tree
        self.meta: dict[str, list[str]] = {}
        for element in tree.iter("meta"):
            key = element.get("property") or element.get("name") or element.get("itemprop")
            content = element.get("content")
            if key and content and content.strip():
                self.meta.setdefault(key.strip().lower(), []).append(content)
        self.articles = list(json_ld_articles(tree))

    def values(self, selectors: tuple[str, ...], meta_keys: tuple[str, ...],
               json_keys: tuple[str, ...]) -> Iterator[str]:
        """Raw values for one field: the profile's selectors, then <meta>, then JSON-LD."""
        for selector in selectors:
            for element in css(selector)(self.tree)[:1]:
                yield element.get("content") or element.get("datetime") or element.text_content()
        for key in meta_keys:
            yield from self.meta.get(key, ())
        for article in self.articles:
            for key in json_keys:
                yield from json_texts(article.get(key))

    def titles(self, selectors: tuple[str, ...]) -> Iterator[str]:
        """Title candidates, best first: the profile's selectors, og:title and twitter:title,
        JSON-LD headline, <title>, the first h1; the site's name taken off the social and
        document titles."""
        yield from self.values(selectors, (), ())  # on a profiled site, usually the one taken
        site_keys = self.site_keys()
        first_h1 = next((one_line(h1.text_content()) for h1 in self.tree.iter("h1")), "")
        for social in self.values((), ("og:title", "twitter:title"), ()):
            yield without_site_name(one_line(social), site_keys, first_h1)
        for article in self.articles:
            yield from json_texts(article.get("headline"))
        title = self.tree.find("head/title")  # not an inline SVG's <title>
        if title is not None:
            yield without_site_name(one_line(title.text_content()), site_keys, first_h1)
        yield first_h1

    def site_keys(self) -> frozenset[str]:
        """What the page calls its site, and its host: to tell the site's name from a headline."""
        names = [*self.meta.get("og:site_name", ()), *self.meta.get("application-name", ())]
        for article in self.articles:
            names += json_texts(article.get("publisher"))
        canonical = next((url for url in self.canonicals() if url), "")
        try:
            host = urlsplit(canonical.strip()).hostname
        except ValueError:  # "http://[oops/": no host to learn the site's name from
            host = None
        return site_name_keys(names, host)

    def tags(self, selectors: tuple[str, ...]) -> tuple[str, ...]:
        """Every tag of the first source that has any (tags come as a list, not one value)."""
        sources: list[Iterable[str]] = [
            [element.get("content") or element.text_content() for element in css(selector)(self.tree)]
            for selector in selectors
        ]
        sources.append(self.meta.get("article:tag", ()))
        sources += [split_keywords(article.get("keywords")) for article in self.articles]
        for source in sources:
            tags = tuple(dict.fromkeys(tag for tag in map(one_line, source) if tag))
            if tags:
                return tags
        return ()

    def languages(self) -> Iterator[str]:
        yield self.tree.get("lang") or ""
        for element in self.tree.iter("meta"):
            if (element.get("http-equiv") or "").lower() == "content-language":
                yield element.get("content") or ""
        yield from self.meta.get("og:locale", ())
        for article in self.articles:
            yield from json_texts(article.get("inLanguage"))

    def canonicals(self) -> Iterator[str]:
        for element in self.tree.iter("link"):
            if "canonical" in (element.get("rel") or "").lower().split():
                yield element.get("href") or ""
        yield from self.meta.get("og:url", ())


# ---- JSON-LD -------------------------------------------------------------------


def json_ld_articles(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """schema.org Article objects of every JSON-LD block, @graph and lists flattened.
    A block that is not valid JSON is skipped: other sources may still have the field."""
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
            continue
        for item in _flatten(data):
            types = item.get("@type")
            kinds = types if isinstance(types, list) else [types]
            if ARTICLE_TYPES.intersection(kind for kind in kinds if isinstance(kind, str)):
                yield item


# JSON-LD nests @graph in lists in @graph a level or two deep; deeper is not metadata.
JSON_LD_MAX_DEPTH = 8


def _flatten(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > JSON_LD_MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _flatten(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        yield from _flatten(data.get("@graph", []), depth + 1)


def json_texts(value: Any) -> Iterator[str]:
    """Strings of a JSON-LD value: a string, a list of them, or objects with a name."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from json_texts(item)
    elif isinstance(value, dict) and isinstance(value.get("name"), str):
        yield value["name"]


def split_keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split(",")
    return list(json_texts(value))


# ---- converters: a value, or Refused with the reason -------------------------------


def person_name(text: str) -> str:
    name = one_line(text)
    try:
        scheme = urlsplit(name).scheme
    except ValueError:  # "http://[oops": a broken URL, not a name either
        raise Refused(f"author is a malformed URL, not a name: {name!r}") from None
    if scheme in {"http", "https"}:  # article:author is often a profile URL
        raise Refused(f"author is a URL, not a name: {name!r}")
    return name


def language_tag(text: str) -> str:
    """A BCP 47 tag as `vi` or `en-US` (og:locale writes `vi_VN`)."""
    tag = one_line(text).replace("_", "-")
    if not tag:
        return ""
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", tag):
        raise Refused(f"not a language tag: {tag!r}")
    primary, *rest = tag.split("-")
    return "-".join([primary.lower(), *(part.upper() if len(part) == 2 else part for part in rest)])


def absolute_url(text: str) -> str:
    url = one_line(text)
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 (raises on a malformed host such as "[oops")
    except ValueError as error:
        raise Refused(f"canonical URL is not a URL: {url!r} ({error})") from None
    if url and parts.scheme not in {"http", "https"}:
        raise Refused(f"canonical URL is not absolute: {url!r}")
    return url


def parse_page_date(text: str, zone: tzinfo | None) -> datetime | None:
    """An aware UTC datetime by the project's one date rule (storage.dates). A date written
    without a zone is read in the profile's time zone; without one it is refused."""
    try:
        return read_date(one_line(text), zone)
    except DateRefused as refused:
        raise Refused(str(refused)) from None


@lru_cache(maxsize=256)
def css(selector: str) -> CSSSelector:
    return CSSSelector(selector)
