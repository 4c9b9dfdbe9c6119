"""The project's own signal, beside Scrapy's (scrapy.signals), and waking the engine after
Scrapy's spider_idle.

Why: Scrapy runs the handlers of one signal concurrently, so two `spider_closed` handlers
cannot say which ends first; the end of a run must be recorded only once the archive is
closed and counted, and a signal of its own says exactly that.
"""

from typing import Any

archive_closed = object()
"""Sent by WarcExporter at the end of a crawl, once every queued write is committed (or
failed, and counted), the WARC file is closed and the archive's stats are final. Args:
`reason`, the spider's close reason. Handlers may be coroutines; the crawl's close waits
for them."""


def wake(engine: Any) -> None:
    """Have the engine look for work now. After a spider_idle handler raised DontCloseSpider,
    it looks again when a request it was given ends, else only on its heartbeat (5 s):
    `engine.crawl()` wakes it, but Scrapy has no public call for "nothing came of it"."""
    slot = getattr(engine, "_slot", None)
    if slot is not None:
        slot.nextcall.schedule()
