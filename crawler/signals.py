"""The project's own signal, beside Scrapy's (scrapy.signals).

Why: Scrapy runs the handlers of one signal concurrently, so two `spider_closed` handlers
cannot say which ends first; the end of a run must be recorded only once the archive is
closed and counted, and a signal of its own says exactly that.
"""

archive_closed = object()
"""Sent by WarcExporter at the end of a crawl, once every queued write is committed (or
failed, and counted), the WARC file is closed and the archive's stats are final. Args:
`reason`, the spider's close reason. Handlers may be coroutines; the crawl's close waits
for them."""
