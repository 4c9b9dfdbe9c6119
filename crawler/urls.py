"""Canonical URLs: one spelling per page, so each page is fetched and filed once."""

from __future__ import annotations

from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url


def canonical_url(url: str, strip_parameters: tuple[str, ...] = ()) -> str:
    """Drop the fragment and tracking parameters (glob patterns like `utm_*`), then canonicalize."""
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
