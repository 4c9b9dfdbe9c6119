"""Items that flow from the spider to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.captures import PendingCapture


@dataclass(slots=True)
class ArticlePage:
    """A fetched page whose URL matches the site's article pattern: to be extracted."""

    url: str
    status: int
    body: bytes  # after Content-Encoding was removed (the WARC keeps the encoded bytes)
    content_type: str | None
    capture: PendingCapture | None  # how the page went into the archive (None: archiving is off)
    fetched_at: datetime
    source_lastmod: datetime | None = None
    extract_unchanged: bool = False


@dataclass(slots=True)
class ExtractedArticle:
    """What the extraction pipeline made of an ArticlePage (the body is dropped)."""

    url: str
    title: str | None
    text_path: str | None
    failure: str | None = None
