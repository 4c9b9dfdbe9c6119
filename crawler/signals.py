"""The project's own signal, beside Scrapy's (scrapy.signals), and waking Scrapy's engine.

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
    """Have the engine look for work now. It looks when a download ends, else only on its
    heartbeat (5 s): after a spider_idle handler raised DontCloseSpider and scheduled
    nothing, or once held-back requests can go, nothing else wakes it. `engine.crawl()`
    does, but Scrapy has no public call without a request."""
    slot = getattr(engine, "_slot", None)
    if slot is not None:
        slot.nextcall.schedule()
