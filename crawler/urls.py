"""Canonical URLs: one spelling per page, so each page is fetched and filed once."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# A URL w3lib's canonicalize_url returns as it is: lower-case host, a path of unreserved
# characters without dot segments, no query, no fragment. Most of a site's own links are
# such, and canonicalize_url took a tenth of the crawl process on a 20,000-article site.
PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"  # 1-65535
ALREADY_CANONICAL = re.compile(
    r"https?://[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})*\.?(?::" + PORT + r")?(?:/(?!\.)[A-Za-z0-9._~-]*)+")


def canonical_url(url: str, strip_parameters: tuple[str, ...] = ()) -> str:
    """Drop the fragment and tracking parameters (glob patterns like `utm_*`), then canonicalize."""
    if ALREADY_CANONICAL.fullmatch(url):
        return url
    parts = urlsplit(url)
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not any(fnmatchcase(name.lower(), pattern) for pattern in strip_parameters)
    ]
    cleaned = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned, keep_fragments=False)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def move_to_origin(url: str, origin: str) -> str:
    """The same path and query on another origin (a mirror of the site)."""
    parts, target = urlsplit(url), urlsplit(origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def with_query_parameter(url: str, name: str, value: int) -> str:
    """`url` with `name=value` (the first page, 0, is the URL without the parameter)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    if value:
        query.append((name, str(value)))
    return urlunsplit(parts._replace(query=urlencode(query)))
