"""Items that flow from the spider to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """What the extraction pipeline made of an ArticlePage (the body is dropped): the fields of
    `scrapy export`'s record (storage.exports.records), with the same names and meaning and
    already serialised (dates ISO 8601 UTC strings, tags a list), in the same order (a feed's
    keys and CSV header are the export's), so any feed export writes them as the export does;
    and, last, `failure`: the reason when no text could be extracted."""

    url: str
    canonical_url: str | None = None
    title: str | None = None
    published_at: str | None = None
    modified_at: str | None = None
    author: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    text: str | None = None
    text_path: str | None = None
    extractor_version: str | None = None
    fetched_at: str | None = None
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    warc_record_id: str | None = None
    payload_warc_file: str | None = None
    payload_warc_offset: int | None = None
    payload_warc_length: int | None = None
    payload_warc_record_id: str | None = None
    problems: dict[str, str] | None = None
    failure: str | None = None
