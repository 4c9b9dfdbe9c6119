"""The recrawl policy: what a run fetches again, decided from the catalogue alone.

An article already archived is fetched again only when its sitemap or feed date is newer
than what the last capture saw, when the profile's revisit interval has passed, when the
last attempt failed, or when the last capture was never fully processed (a run died
before its links were recorded). Hubs are fetched every run. Every request for a known
URL carries the validators of its last capture, so an unchanged page costs a 304.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage.catalogue import frontier
from storage.catalogue.frontier import CaptureState, Discovered, HeldBack
from storage.warc.exchange import Revisit


@dataclass(frozen=True, slots=True)
class Decision:
    fetch: bool
    reason: str  # new, lastmod, interval, retry, unfinished, unchanged
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RecrawlPolicy:
    revisit_interval: timedelta | None = None  # None: articles are fetched again only on a sign
    enabled: bool = True  # False: every URL is fetched whole, as in a first run

    def article(self, latest: CaptureState | None, lastmod: datetime | None,
                now: datetime, from_sitemap: bool = False, held: HeldBack | None = None) -> Decision:
        """Failures come first (a URL backing off waits whatever the settings; one given up
        is tried again only on a new sign), then crash safety (a capture whose page was
        never processed is fetched and processed whatever the settings), then the policy."""
        if held is not None:
            if held.gave_up_at is None:
                return Decision(False, "backoff", {})
            if lastmod is None or lastmod <= held.gave_up_at:
                return Decision(False, "given_up", {})
        if latest is None:
            return Decision(True, "new", {})
        if not latest.finished:
            return Decision(True, "unfinished", {})
        if not self.enabled:
            return Decision(True, "forced", {})
        headers = validators(latest)
        if latest.status >= 500 or latest.status == 429:
            return Decision(True, "retry", headers)
        if lastmod is not None and is_newer(lastmod, latest, from_sitemap):
            return Decision(True, "lastmod", headers)
        if self.revisit_interval is not None and now - latest.fetched_at >= self.revisit_interval:
            return Decision(True, "interval", headers)
        return Decision(False, "unchanged", {})

    def hub(self, latest: CaptureState | None) -> dict[str, str]:
        """Headers for a hub: always fetched, conditionally when its last copy was processed."""
        if not self.enabled or latest is None or not latest.finished:
            return {}
        return validators(latest)


def is_newer(lastmod: datetime, latest: CaptureState, from_sitemap: bool) -> bool:
    """The source says the page changed since the last capture saw it. A sitemap's lastmod
    is compared with the lastmod that sitemap gave before (the site's clock, not ours); a
    feed's date, or a sitemap's first word on a page, with the time of the last capture."""
    if from_sitemap and latest.listed_lastmod is not None:
        return lastmod > latest.listed_lastmod
    return lastmod > latest.fetched_at


def validators(latest: CaptureState) -> dict[str, str]:
    if latest.status not in (200, 203, 304):
        return {}
    headers = {}
    if latest.etag:
        headers["If-None-Match"] = latest.etag
    if latest.last_modified:
        headers["If-Modified-Since"] = latest.last_modified
    return headers


class CatalogueReader:
    """Catalogue look-ups for the spider, run on a thread of their own (never the reactor's)."""

    def __init__(self, sessions: sessionmaker[Session], site: str):
        self.sessions = sessions
        self.site = site
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-reader")

    async def latest(self, urls: Iterable[str]) -> dict[str, CaptureState]:
        return await self._run(frontier.latest_captures, self.site, list(urls))

    async def held_back(self) -> dict[str, HeldBack]:
        """Every URL of the site backing off or given up, now: read once per run (a short
        list), so deciding on a link costs no query of its own."""
        return await self._run(frontier.held_back, self.site, datetime.now(UTC))

    async def pending(self, before: datetime) -> list[Discovered]:
        return await self._run(frontier.pending, self.site, before)

    async def listed_in(self, sitemap_url: str) -> set[str]:
        return await self._run(frontier.listed_in, self.site, sitemap_url)

    async def _run(self, query: Any, *args: Any) -> Any:
        def work() -> Any:
            with self.sessions() as session:
                return query(session, *args)
        return await asyncio.wrap_future(self._thread.submit(work))

    def close(self) -> None:
        self._thread.shutdown(wait=False)


@dataclass(frozen=True, slots=True)
class Stored:
    """How an exchange is archived, and what it means for the article (None for hubs)."""

    revisit: Revisit | None
    outcome: str | None  # new, changed, unchanged, not_modified, gone, failed


def how_to_store(kind: str | None, status: int, payload_digest: str,
                 previous: CaptureState | None) -> Stored:
    """A 304 or a payload identical to the URL's last one becomes a revisit record that
    refers to the record holding the payload; everything else is a full response record."""
    revisit = None
    # only a capture with a payload (2xx, or a 304 standing for one) can be referred to:
    # never an error page that a retry or a conditional request followed
    referable = previous is not None and (200 <= previous.status < 300 or previous.status == 304)
    if referable and (status == 304 or (
            200 <= status < 300 and payload_digest == previous.payload_digest)):
        revisit = Revisit(
            profile="server-not-modified" if status == 304 else "identical-payload-digest",
            refers_to_record_id=previous.payload_record_id, refers_to_uri=previous.url,
            refers_to_date=previous.payload_fetched_at, payload_digest=previous.payload_digest,
        )
    return Stored(revisit, _outcome(status, previous, revisit) if kind == "article" else None)


def _outcome(status: int, previous: CaptureState | None, revisit: Revisit | None) -> str | None:
    if 300 <= status < 400 and status != 304:
        return None  # a redirect: its target counts
    if revisit is not None:
        return "not_modified" if status == 304 else "unchanged"
    if 200 <= status < 300:
        return "changed" if previous is not None and 200 <= previous.status < 400 else "new"
    if status in (404, 410) and previous is not None:
        return "gone"
    return "failed"
