"""What hub pages list: the links of sitemaps and feeds, read from their bytes.

Why apart from the spider: parsing a sitemap or a feed needs no crawl, and reads bytes a
hostile site chose (gzip bombs, entity tricks), so the limits live here, in one place.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from datetime import datetime

from lxml import etree

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemap protocol's own limit


@dataclass(frozen=True, slots=True)
class Link:
    """A link found on a hub or article, with what the source said of it."""

    url: str
    lastmod: datetime | None = None
    listed_in: str | None = None  # the sitemap that lists it


def sitemap_body(body: bytes) -> bytes | None:
    """The XML of a sitemap (gunzipped), or None: not a sitemap, or over the size limit."""
    if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                body = stream.read(MAX_SITEMAP_BYTES + 1)
        except (OSError, EOFError):
            return None
    if len(body) > MAX_SITEMAP_BYTES or b"<" not in body[:1024]:
        return None
    return body


def feed_links(body: bytes) -> list[tuple[str, str | None]]:
    """(link, date as written) of every RSS item and Atom entry in a feed."""
    try:
        root = etree.fromstring(body, etree.XMLParser(recover=True, resolve_entities=False))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    links: list[tuple[str, str | None]] = []
    for item in root.iter("item"):
        links.append((item.findtext("link") or "", item.findtext("pubDate")))
    for entry in root.iter("{http://www.w3.org/2005/Atom}entry"):
        link = entry.find("{http://www.w3.org/2005/Atom}link")
        updated = entry.findtext("{http://www.w3.org/2005/Atom}updated")
        links.append((link.get("href", "") if link is not None else "", updated))
    return [(link.strip(), date) for link, date in links if link.strip()]
