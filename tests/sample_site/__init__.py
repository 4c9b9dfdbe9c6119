"""A deterministic VOV-style sample news site with gold text, served over HTTP.

Used by the end-to-end tests (crawl it, compare extracted text with gold),
by the README demo and by the benchmark::

    site = SampleSite(n_articles=30)
    with serve(site) as base_url:
        ...  # crawl base_url
    site.gold_texts()         # path -> exact expected text (the oversized page too)
    site.expected_failures()  # path -> "empty" | "not_html"
    site.special, site.traps  # special pages, trap path prefixes

Run standalone with ``python -m tests.sample_site --port 8080 --articles 30``.
"""

from __future__ import annotations

from .content import Article, Block
from .encoding import decode_cp1258, encode_cp1258
from .server import serve
from .site import RequestRecord, SampleSite

__all__ = ["Article", "Block", "RequestRecord", "SampleSite", "decode_cp1258", "encode_cp1258", "serve"]
