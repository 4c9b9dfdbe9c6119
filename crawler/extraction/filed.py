"""An extraction in the filer's plain values: what the crawl and `scrapy reextract` alike hand
to `storage.catalogue.filing`, which knows nothing of the extractor's types."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.catalogue.filing import Extracted

if TYPE_CHECKING:
    from datetime import datetime

    from crawler.extraction.article import Extraction


def extracted_of(url: str, capture_id: int, fetched_at: datetime, extraction: Extraction) -> Extracted:
    if extraction.failure is not None or extraction.article is None:
        failure = extraction.failure
        return Extracted(url, capture_id, extraction.version,
                         failure=failure.reason if failure else "error",
                         detail=failure.detail if failure else "no article and no failure")
    article = extraction.article
    return Extracted(url, capture_id, extraction.version, title=article.title,
                     text=article.text, fields=article.document_fields(fetched_at))
