"""What a crawl's extraction worker runs: one page's body in, its Extraction out.

A module of its own, importing only the extractor, because the forkserver preloads it and
every worker starts from that: a worker that imported the pipeline (Scrapy, SQLAlchemy,
the archive) would spend longer importing than extracting a small site's articles.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crawler.extraction.article import EXTRACTOR_VERSION, Extraction, Failure, extract_safely

if TYPE_CHECKING:
    from crawler.profiles import ExtractHints

# What a worker is sent for one page: its body, Content-Type and URL.
Page = tuple[bytes, str | None, str]

# Set once in each worker process by the pool initializer: hints travel once, not per page.
_hints: ExtractHints | None = None
_max_bytes = 0


def start_worker(hints: ExtractHints, max_bytes: int, niceness: int = 0) -> None:
    global _hints, _max_bytes
    _hints, _max_bytes = hints, max_bytes
    if niceness:
        os.nice(niceness)  # lowering its own priority needs no privilege


def extract_page(page: Page) -> Extraction:
    assert _hints is not None, "start_worker was not called"
    body, content_type, url = page
    return extract_safely(body, content_type=content_type, hints=_hints, max_bytes=_max_bytes,
                          url=url)


def failed_page(_page: Page, reason: str, detail: str) -> Extraction:
    """The Extraction recorded for a page its worker could not finish."""
    return Extraction(EXTRACTOR_VERSION, failure=Failure(reason, detail))
