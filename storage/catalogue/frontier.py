"""The frontier: what incremental crawls ask the catalogue of a site's URLs. Which are
known and still to process (discovered, listed by a sitemap, pending), which failed (backing
off, given up), which articles are gone, and the latest capture of each URL.

Every recrawl decision comes from here, never from one process's memory, so it holds
when several crawlers on several machines share one catalogue. Every write touches its rows
in URL order: two workers' batches then take row locks in one order, not into a deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Article, Capture, FrontierEntry
from storage.catalogue.upserts import upsert


@dataclass(frozen=True, slots=True)
class CaptureState:
    """The latest capture of a URL, as far as the next request for it is concerned."""

    url: str
    record_id: str
    fetched_at: datetime
    status: int
    payload_digest: str
    etag: str | None
    last_modified: str | None
    source_lastmod: datetime | None
    # the record that holds the payload (itself, or what a revisit refers to)
    payload_record_id: str
    payload_capture_id: int | None  # None while the capture waits for its batch's commit
    payload_fetched_at: datetime
    done_at: datetime | None  # the frontier's: when its page and what it led to were recorded
    listed_lastmod: datetime | None  # the lastmod its sitemap gave when last read

    @property
    def finished(self) -> bool:
        """Its page was parsed and what it led to recorded after this fetch; if not (a crash
        came between), the next run fetches it whole again."""
        return self.done_at is not None and self.done_at >= self.fetched_at


def latest_captures(session: Session, site: str, urls: Iterable[str]) -> dict[str, CaptureState]:
    """The latest capture of each URL that has one (one query per chunk of URLs); a blocked
    response (a bot challenge) is not a capture of the page."""
    states: dict[str, CaptureState] = {}
    for chunk in in_chunks(urls):
        for row in session.execute(_LATEST, {"urls": chunk, "site": site}).mappings():
            revisit = row["refers_to_capture_id"] is not None
            states[row["url"]] = CaptureState(
                url=row["url"], record_id=row["warc_record_id"], fetched_at=row["fetched_at"],
                status=row["status"], payload_digest=row["payload_digest"], etag=row["etag"],
                last_modified=row["last_modified"], source_lastmod=row["source_lastmod"],
                payload_record_id=row["refers_to_record_id"] if revisit else row["warc_record_id"],
                payload_capture_id=row["refers_to_capture_id"] if revisit else row["id"],
                payload_fetched_at=row["original_fetched_at"], done_at=row["done_at"],
                listed_lastmod=row["listed_lastmod"],
            )
    return states


def _latest_statement() -> Any:
    """Built once: constructing its subqueries costs more than running it, and the crawl
    asks it for every page's links. Core tables, not ORM entities: the rows are read as
    mappings, and the ORM's per-execution set-up was a fifth of its cost."""
    captures, entries = Capture.__table__, FrontierEntry.__table__
    ranked = (
        select(captures, func.row_number().over(
            partition_by=captures.c.url,
            order_by=(captures.c.fetched_at.desc(), captures.c.id.desc())).label("rank"))
        .where(captures.c.url.in_(bindparam("urls", expanding=True)),
               captures.c.blocked.is_(None))  # a challenge is no copy
        .subquery()
    )
    latest = select(ranked).where(ranked.c.rank == 1).subquery()
    original = captures.alias("original")
    return (
        select(latest, original.c.fetched_at.label("original_fetched_at"),
               entries.c.done_at, entries.c.lastmod.label("listed_lastmod"))
        .join(original, original.c.id == func.coalesce(latest.c.refers_to_capture_id,
                                                       latest.c.id))
        .outerjoin(entries, and_(entries.c.url == latest.c.url,
                                 entries.c.site == bindparam("site")))
    )


_LATEST = _latest_statement()


# ---- the frontier -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str
    listed_in: str | None = None  # the sitemap that lists it
    lastmod: datetime | None = None
    kind: str | None = None  # "photo" for an article's image; None: the profile tells


def remember(session: Session, site: str, found: Sequence[Discovered], now: datetime) -> None:
    """Put URLs in the frontier as pending (to fetch and process), keeping the newest facts."""
    if not found:
        return
    rows = [{"site": site, "url": d.url, "listed_in": d.listed_in, "lastmod": d.lastmod,
             "kind": d.kind, "discovered_at": now, "done_at": None}
            for d in sorted({d.url: d for d in found}.values(), key=lambda d: d.url)]
    statement = upsert(session, FrontierEntry)
    excluded = statement.excluded
    session.execute(statement.on_conflict_do_update(
        index_elements=["site", "url"],
        set_={"done_at": None,
              "listed_in": func.coalesce(excluded.listed_in, FrontierEntry.listed_in),
              "lastmod": func.coalesce(excluded.lastmod, FrontierEntry.lastmod),
              "kind": func.coalesce(excluded.kind, FrontierEntry.kind)},
    ), rows)


def relist(session: Session, site: str, listed: Sequence[tuple[str, datetime | None]],
           sitemap_url: str) -> None:
    """Record what this sitemap says now: it lists these URLs (so their vanishing is
    noticed) with these lastmods (so the next change is compared with this one)."""
    rows = [{"u": url, "m": lastmod} for url, lastmod in sorted(dict(listed).items())]
    if rows:
        session.connection().execute(
            update(FrontierEntry)
            .where(FrontierEntry.site == site, FrontierEntry.url == bindparam("u"))
            .values(listed_in=sitemap_url, lastmod=func.coalesce(bindparam("m"),
                                                                 FrontierEntry.lastmod)),
            rows)


def mark_done(session: Session, site: str, urls: Iterable[str], now: datetime) -> None:
    """These URLs' pages (and what they led to) are recorded, which ends any failure streak;
    a URL new to the frontier (a redirect's target, say) is added as done."""
    rows = [{"site": site, "url": url, "discovered_at": now, "done_at": now} for url in sorted(set(urls))]
    if rows:
        statement = upsert(session, FrontierEntry)
        session.execute(statement.on_conflict_do_update(
            index_elements=["site", "url"],
            set_={"done_at": statement.excluded.done_at, "attempts": 0, "last_error": None,
                  "retry_at": None, "gave_up_at": None}), rows)


def pending(session: Session, site: str, before: datetime) -> list[Discovered]:
    """What runs before `before` decided to fetch and did not finish, less what is backing
    off after failures (its next attempt is not due yet)."""
    rows = session.execute(
        select(FrontierEntry.url, FrontierEntry.listed_in, FrontierEntry.lastmod, FrontierEntry.kind)
        .where(FrontierEntry.site == site, FrontierEntry.done_at.is_(None),
               FrontierEntry.discovered_at < before,
               or_(FrontierEntry.retry_at.is_(None), FrontierEntry.retry_at <= before))
        .order_by(FrontierEntry.id)
    )
    return [Discovered(url, listed_in, lastmod, kind) for url, listed_in, lastmod, kind in rows]


# ---- failures: back off, then give up ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchFailure:
    url: str
    reason: str  # e.g. http_503, timeout, blocked, url_too_long
    retry: bool  # False: final at once (refused by robots.txt, too large, off the origin)
    # False: never given up, only backed off (a bot challenge says nothing of the page)
    may_give_up: bool = True


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt n (1, 2, ...) fails -> the next is due `first * factor**(n-1)` later, at
    most `longest`; after `give_up_after` failed attempts the URL is given up."""

    first: timedelta = timedelta(minutes=30)
    factor: float = 4.0
    longest: timedelta = timedelta(days=2)
    give_up_after: int = 5

    def delay(self, attempts: int) -> timedelta:
        return min(self.first * self.factor ** max(attempts - 1, 0), self.longest)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A URL not to be fetched now: backing off until `retry_at`, or given up."""

    reason: str
    attempts: int
    retry_at: datetime | None
    gave_up_at: datetime | None


def record_failures(session: Session, site: str, failures: Sequence[FetchFailure],
                    now: datetime, backoff: Backoff) -> None:
    """Count a failed attempt for each URL: due again after the back-off, or given up
    (done, with its reason) once it failed too often or cannot succeed."""
    for failure in sorted({f.url: f for f in failures}.values(), key=lambda f: f.url):
        session.execute(upsert(session, FrontierEntry).on_conflict_do_nothing(), [{
            "site": site, "url": failure.url, "discovered_at": now, "done_at": None}])
        entry = session.scalars(select(FrontierEntry).where(
            FrontierEntry.site == site, FrontierEntry.url == failure.url)).one()
        attempts = entry.attempts + 1
        give_up = not failure.retry or (failure.may_give_up and attempts >= backoff.give_up_after)
        session.execute(update(FrontierEntry).where(FrontierEntry.id == entry.id).values(
            attempts=attempts, last_error=failure.reason,
            retry_at=None if give_up else now + backoff.delay(attempts),
            gave_up_at=now if give_up else None, done_at=now if give_up else None))


def held_back(session: Session, site: str, now: datetime) -> dict[str, HeldBack]:
    """The site's URLs backing off (their next attempt not due at `now`) or given up."""
    return _failure_states(session, site, or_(FrontierEntry.retry_at > now,
                                              FrontierEntry.gave_up_at.isnot(None)))


def _failure_states(session: Session, site: str, condition: Any) -> dict[str, HeldBack]:
    rows = session.execute(
        select(FrontierEntry.url, FrontierEntry.last_error, FrontierEntry.attempts,
               FrontierEntry.retry_at, FrontierEntry.gave_up_at)
        .where(FrontierEntry.site == site, condition).order_by(FrontierEntry.url))
    return {url: HeldBack(reason or "", attempts, retry_at, gave_up_at)
            for url, reason, attempts, retry_at, gave_up_at in rows}


def listed_in(session: Session, site: str, sitemap_url: str) -> set[str]:
    """The URLs this sitemap listed when it was last read (and that are not known gone)."""
    rows = session.scalars(
        select(FrontierEntry.url)
        .outerjoin(Article, Article.url == FrontierEntry.url)
        .where(FrontierEntry.site == site, FrontierEntry.listed_in == sitemap_url,
               Article.gone_at.is_(None))
    )
    return set(rows)


# ---- articles gone ---------------------------------------------------------------------------


def mark_gone(session: Session, urls: Iterable[str], now: datetime) -> None:
    for chunk in in_chunks(sorted(urls)):
        session.execute(update(Article).where(Article.url.in_(chunk), Article.gone_at.is_(None))
                        .values(gone_at=now))


def mark_back(session: Session, urls: Iterable[str]) -> None:
    for chunk in in_chunks(sorted(urls)):
        session.execute(update(Article).where(Article.url.in_(chunk), Article.gone_at.isnot(None))
                        .values(gone_at=None))
