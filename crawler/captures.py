"""Each exchange of a crawl into the WARC file and a `captures` row: a full record, or a
revisit of the URL's last capture, or a bot challenge kept apart from the page.

Why this module exists: the decision needs the URL's last capture, which this process
may have written moments ago and not committed yet, so it keeps two bounded caches
(the latest capture of each URL, the capture id of each recent record) and runs on the
archive's writer thread (`crawler.archive`), which calls it in submission order.
Start-up repair uses `insert` too, before the crawl writes anything.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from crawler.bounded import BoundedDict
from crawler.revisits import Stored, how_to_store
from storage.catalogue import frontier, repository
from storage.catalogue.frontier import CaptureState
from storage.catalogue.repository import NewCapture
from storage.warc.exchange import HttpExchange, WarcPointer, warc_digest
from storage.warc.writer import WarcWriter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crawler.challenges import Blocking

__all__ = ["UNKNOWN", "Archived", "CaptureWriter", "PendingCapture"]

RECENT_CAPTURES = 4096  # in flight, and a little more: an extraction comes back within seconds


class _Unknown(Enum):
    """A member, not a bare object(): it stays itself when pickled to the archive process."""

    UNKNOWN = "unknown"


UNKNOWN: Any = _Unknown.UNKNOWN  # "the caller did not look the URL's last capture up"


@dataclass(frozen=True, slots=True)
class Archived:
    """Where an exchange went and what it meant: a revisit is not extracted again."""

    pointer: WarcPointer
    warc_type: str  # response or revisit
    outcome: str | None  # for articles: new, changed, unchanged, not_modified, gone, failed
    blocked: str | None = None  # why the response is not the page (a bot challenge)
    # the capture it revisits was never finished (its fetcher died first, another worker of a
    # shared job fetched it again): its text may never have been filed, so it is extracted
    after_unfinished: bool = False


@dataclass(frozen=True, slots=True)
class PendingCapture:
    """An exchange handed to the archive (by WarcExporter): its response record's id and when
    it was fetched at once, where it went (and whether it is a revisit) once `archived`
    resolves. The spider puts it in the ArticlePage; the pipeline awaits it."""

    record_id: str
    fetched_at: datetime
    archived: asyncio.Future[Archived]


class CaptureWriter:
    """Writes exchanges to the WARC file and makes their `captures` rows (not inserted:
    the archive's batch inserts them with `insert`)."""

    def __init__(self, writer: WarcWriter | None) -> None:
        """`writer` None: rows only (start-up repair inserts what a dead run wrote)."""
        self.writer = writer
        # WARC record id -> capture id of the latest captures: an extraction comes back soon
        # after its capture, so the lookup rarely reaches the database.
        self.recent: BoundedDict[str, int] = BoundedDict(RECENT_CAPTURES)
        # URL -> its latest capture, written by this process lately (maybe not committed yet)
        self.latest: BoundedDict[str, CaptureState] = BoundedDict(RECENT_CAPTURES)

    def store(
        self, session: Session, exchange: HttpExchange, record_id: str,
        source_lastmod: datetime | None, kind: str | None, looked_up: CaptureState | None, *,
        site: str, run_id: int | None, blocking: Blocking | None,
    ) -> tuple[NewCapture, Archived]:
        """Write the exchange's records; its row, and what it meant. `looked_up` is the URL's
        last capture as the spider saw it (None: it has none), or UNKNOWN."""
        digest = warc_digest(exchange.response_body)
        previous = self._previous(session, exchange.url, looked_up, site)
        blocked = _challenge(exchange, blocking)
        # a challenge is no copy of the page: a full record, no outcome, never the URL's latest
        stored = Stored(None, None) if blocked else how_to_store(kind, exchange.status, digest,
                                                                  previous)
        revisit = stored.revisit
        assert self.writer is not None, "a CaptureWriter without a WarcWriter only inserts rows"
        pointer = self.writer.write_exchange(exchange, response_record_id=record_id,
                                             revisit=revisit)
        headers = {name.lower(): value for name, value in exchange.response_headers}
        row = NewCapture(
            url=exchange.url,
            warc_type="revisit" if revisit else "response",
            status=exchange.status,
            fetched_at=exchange.fetched_at,
            content_type=headers.get("content-type"),
            payload_digest=pointer.payload_digest,
            payload_length=len(exchange.response_body),
            warc_file=pointer.warc_file,
            warc_offset=pointer.offset,
            warc_length=pointer.length,
            warc_record_id=pointer.record_id,
            ip_address=exchange.ip_address,
            etag=headers.get("etag") or (previous.etag if revisit and previous else None),
            last_modified=headers.get("last-modified") or (
                previous.last_modified if revisit and previous else None),
            source_lastmod=source_lastmod,
            crawl_run_id=run_id,
            revisit_profile=revisit.profile if revisit else None,
            refers_to_record_id=revisit.refers_to_record_id if revisit else None,
            blocked=blocked,
        )
        if not blocked:
            self._remember_latest(exchange, pointer, revisit, previous, source_lastmod)
        return row, Archived(pointer, row.warc_type, stored.outcome, blocked,
                             after_unfinished=bool(revisit and previous and not previous.finished))

    def insert(self, session: Session, captures: list[NewCapture],
               salvage: bool = False) -> list[tuple[NewCapture, str]]:
        """Full records first: a revisit in the same batch needs its original's id. With
        `salvage`, a row the database refuses is returned with the reason instead of
        failing the others (start-up repair must never die on one record)."""
        refused: list[tuple[NewCapture, str]] = []

        def insert(rows: list[NewCapture]) -> None:
            if salvage:
                ids, lost = repository.insert_captures_salvaging(session, rows)
                refused.extend(lost)
            else:
                ids = repository.insert_captures(session, rows)
            self.recent.update(ids)
        insert([c for c in captures if c.refers_to_record_id is None])
        insert([replace(c, refers_to_capture_id=self.capture_id(session, c.refers_to_record_id))
                for c in captures if c.refers_to_record_id is not None])
        return refused

    def capture_id(self, session: Session, record_id: str | None) -> int | None:
        """The id of the capture of a WARC record, cached; None if it is not catalogued."""
        if record_id is None:
            return None
        if record_id not in self.recent:
            found = repository.capture_id_by_record_id(session, record_id)
            if found is None:
                return None
            self.recent[record_id] = found
        return self.recent[record_id]

    def forget(self, captures: list[NewCapture]) -> None:
        """Rows that were never committed: the caches must not name them."""
        for capture in captures:
            self.recent.pop(capture.warc_record_id, None)
            self.latest.pop(capture.url, None)

    def _previous(self, session: Session, url: str, looked_up: CaptureState | None,
                  site: str) -> CaptureState | None:
        """The URL's last capture: one written by this process lately, else what the spider
        looked up for its decision, else (robots.txt, a redirect's target) the catalogue's."""
        if url in self.latest:
            return self.latest[url]
        if looked_up is not UNKNOWN:
            return looked_up
        return frontier.latest_captures(session, site, [url]).get(url)

    def _remember_latest(self, exchange: HttpExchange, pointer: WarcPointer, revisit: Any,
                         previous: CaptureState | None, source_lastmod: datetime | None) -> None:
        own = revisit is None or previous is None
        self.latest[exchange.url] = CaptureState(
            url=exchange.url, record_id=pointer.record_id, fetched_at=exchange.fetched_at,
            status=exchange.status, payload_digest=pointer.payload_digest, etag=None,
            last_modified=None, source_lastmod=source_lastmod,
            payload_record_id=pointer.record_id if own else previous.payload_record_id,
            payload_capture_id=None if own else previous.payload_capture_id,
            payload_fetched_at=exchange.fetched_at if own else previous.payload_fetched_at,
            done_at=None, listed_lastmod=None,
        )


def _challenge(exchange: HttpExchange, blocking: Blocking | None) -> str | None:
    """Why the response is a bot challenge rather than the page, if it is one."""
    if blocking is None:
        return None
    encoding = next((value for name, value in exchange.response_headers
                     if name.lower() == "content-encoding"), None)
    marker = blocking.marker_in_sent(exchange.response_body, encoding, exchange.status)
    return f"bot challenge ({marker})" if marker else None
