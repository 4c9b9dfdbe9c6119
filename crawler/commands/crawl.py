"""`scrapy crawl SITE`: Scrapy's own command, with an exit status that tells the truth.

Scrapy exits 0 whenever the spider could be started, so cron, systemd and `scrapy
schedule` would report success while nothing was archived. Here the status follows what
happened (see crawler.exitcodes and README): 0 when the run finished (per-URL failures
are counted and listed by `scrapy summary`), 1 when the archive or the catalogue could
not be written, 3 when another run holds the site, 4 when the site answered with bot
challenges; and an expected condition (locked, database unreachable, folder not
writable) is one line saying what to do, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from crawler import collector
from crawler.exitcodes import ExitCode, Unusable

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)

# Close reasons of a run that did its job: it finished, stopped at a limit the user set
# (Scrapy's closespider_*), or was asked to stop (a signal), leaving a consistent archive.
# Any other reason (warc_write_error, lock_lost, start_error, archive_unavailable, ...) is
# a failure; bot_challenge has a status of its own.
FINISHED_REASONS = {"finished", "shutdown"}


def _code_of_reason(reason: str) -> ExitCode:
    if reason in FINISHED_REASONS or reason.startswith("closespider_"):
        return ExitCode.OK
    return ExitCode.BLOCKED if reason == "bot_challenge" else ExitCode.FAILED


# Counted when something fetched could not be archived, a text could not be filed, or the
# run could not be closed: the archive is incomplete whatever the close reason says.
ARCHIVE_ERRORS = ("warc/write_errors", "extract/file_errors", "archive/close_errors")


def exit_code_for(reason: str | None, stats: dict[str, Any]) -> ExitCode:
    if reason is None:
        return ExitCode.FAILED  # the spider never closed properly
    code = _code_of_reason(reason)
    if code == ExitCode.OK and any(stats.get(key) for key in ARCHIVE_ERRORS):
        return ExitCode.FAILED
    return code


class Command(ScrapyCrawl):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            super().run(args, opts)  # Scrapy's usage errors
            return
        assert self.crawler_process
        try:
            crawler = self._create_crawler(args[0])
        except KeyError:
            raise UsageError(f"no spider {args[0]!r}: `scrapy list` shows one per site profile") from None
        errors: list[BaseException] = []
        crawler.signals.connect(collector.crawl_started, signal=signals.spider_opened)
        _catch(self.crawler_process.crawl(crawler, **opts.spargs), errors)
        self.crawler_process.start()
        collector.freeze_for_exit()
        if errors:
            self.exitcode = self._failed_to_start(errors[0])
            return
        stats = crawler.stats.get_stats()
        self.exitcode = int(exit_code_for(stats.get("finish_reason"), stats))
        if self.exitcode == ExitCode.BLOCKED:
            print(f"scrapy crawl: {stats.get('bot_challenge/message')}", file=sys.stderr)

    @staticmethod
    def _failed_to_start(error: BaseException) -> int:
        if isinstance(error, Unusable):
            print(f"scrapy crawl: {error}", file=sys.stderr)
            return int(error.code)
        logger.error("The crawl could not start", exc_info=error)
        return int(ExitCode.FAILED)


def _catch(started: Any, errors: list[BaseException]) -> None:
    """Keep the crawl's start-up error (an asyncio Task or a Deferred, by reactor) for the
    exit status, so that neither asyncio nor Twisted prints it as unhandled."""
    if isinstance(started, asyncio.Future):
        def done(task: asyncio.Future[Any]) -> None:
            if not task.cancelled() and task.exception() is not None:
                errors.append(task.exception())  # type: ignore[arg-type]
        started.add_done_callback(done)
    else:
        started.addErrback(lambda failure: errors.append(failure.value))

