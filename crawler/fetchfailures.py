"""Why a request brought no page, and whether trying again later can help.

Why: a URL that fails must be recorded with its reason and either back off (a 5xx, a
timeout: the server may recover) or be given up at once (refused by robots.txt or by our
URL guard, too large): never left pending to be tried again, and fail again, every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import defer, error

from crawler.middlewares.urlguard import Refused
from crawler.statuses import final_answer
from storage.catalogue.frontier import FetchFailure

_NETWORK = {
    error.DNSLookupError: "dns",
    error.TimeoutError: "timeout",
    error.TCPTimedOutError: "timeout",
    defer.TimeoutError: "timeout",
    error.ConnectionRefusedError: "connection_refused",
    error.ConnectionLost: "connection_lost",
    error.ConnectionDone: "connection_lost",
}


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    retry: bool

    def of(self, url: str) -> FetchFailure:
        return FetchFailure(url, self.reason, self.retry)


def failure_of(exception: BaseException,
               final: Callable[[int], bool] = final_answer) -> Failed | None:
    """The recorded failure for what reached a request's errback; None when the answer was
    archived and is `final` already (a redirect, a 404: the archive handled it)."""
    if isinstance(exception, HttpError):
        status = exception.response.status
        if final(status):
            return None
        return Failed(f"http_{status}", retry=True)
    if isinstance(exception, Refused):
        return Failed(exception.reason, retry=False)
    message = str(exception)
    if "DOWNLOAD_MAXSIZE" in message or "download max size" in message:  # sent, or once inflated
        return Failed("too_large", retry=False)
    if isinstance(exception, IgnoreRequest):
        return Failed("robots_txt" if "robots.txt" in message else "ignored", retry=False)
    for kind, reason in _NETWORK.items():
        if isinstance(exception, kind):
            return Failed(reason, retry=True)
    return Failed(_snake(type(exception).__name__), retry=True)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()[:60]
