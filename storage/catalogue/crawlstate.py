"""What incremental crawls ask the catalogue: the latest capture of URLs, the frontier of
URLs still to process, articles gone, and the one-run-per-site lock.

Every recrawl decision comes from here, never from one process's memory, so it holds
when several crawlers on several machines share one catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.catalogue.batching import in_chunks
from storage.catalogue.models import Article, Base, Capture, CrawlLock, CrawlRun, FrontierEntry

COUNTS = ("new", "changed", "unchanged", "not_modified", "gone", "failed")


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
    processed_at: datetime | None  # frontier done_at: when its page and links were recorded
    listed_lastmod: datetime | None  # the lastmod its sitemap gave when last read

    @property
    def processed(self) -> bool:
        """Its page was fully processed: parsed, links recorded (else fetch it whole again)."""
        return self.processed_at is not None and self.processed_at >= self.fetched_at


def latest_captures(session: Session, site: str, urls: Iterable[str]) -> dict[str, CaptureState]:
    """The latest capture of each URL that has one (one query per chunk of URLs); a blocked
    response (a bot challenge) is not a capture of the page."""
    states: dict[str, CaptureState] = {}
    for chunk in in_chunks(urls):
        ranked = (
            select(Capture, func.row_number().over(
                partition_by=Capture.url, order_by=(Capture.fetched_at.desc(), Capture.id.desc())
            ).label("rank"))
            .where(Capture.url.in_(chunk), Capture.blocked.is_(None))  # a challenge is no copy
            .subquery()
        )
        latest = select(ranked).where(ranked.c.rank == 1).subquery()
        original = Capture.__table__.alias("original")
        query = (
            select(latest, original.c.fetched_at.label("original_fetched_at"),
                   FrontierEntry.done_at, FrontierEntry.lastmod.label("listed_lastmod"))
            .join(original, original.c.id == func.coalesce(latest.c.refers_to_capture_id,
                                                           latest.c.id))
            .outerjoin(FrontierEntry, and_(FrontierEntry.url == latest.c.url,
                                           FrontierEntry.site == site))
        )
        for row in session.execute(query).mappings():
            revisit = row["refers_to_capture_id"] is not None
            states[row["url"]] = CaptureState(
                url=row["url"], record_id=row["warc_record_id"], fetched_at=row["fetched_at"],
                status=row["status"], payload_digest=row["payload_digest"], etag=row["etag"],
                last_modified=row["last_modified"], source_lastmod=row["source_lastmod"],
                payload_record_id=row["refers_to_record_id"] if revisit else row["warc_record_id"],
                payload_capture_id=row["refers_to_capture_id"] if revisit else row["id"],
                payload_fetched_at=row["original_fetched_at"], processed_at=row["done_at"],
                listed_lastmod=row["listed_lastmod"],
            )
    return states


# ---- the frontier -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str
    listed_in: str | None = None  # the sitemap that lists it
    lastmod: datetime | None = None


def remember(session: Session, site: str, found: Sequence[Discovered], now: datetime) -> None:
    """Put URLs in the frontier as pending (to fetch and process), keeping the newest facts."""
    if not found:
        return
    rows = [{"site": site, "url": d.url, "listed_in": d.listed_in, "lastmod": d.lastmod,
             "discovered_at": now, "done_at": None} for d in {d.url: d for d in found}.values()]
    statement = _upsert(session, FrontierEntry)
    excluded = statement.excluded
    session.execute(statement.on_conflict_do_update(
        index_elements=["site", "url"],
        set_={"done_at": None,
              "listed_in": func.coalesce(excluded.listed_in, FrontierEntry.listed_in),
              "lastmod": func.coalesce(excluded.lastmod, FrontierEntry.lastmod)},
    ), rows)


def relist(session: Session, site: str, listed: Sequence[tuple[str, datetime | None]],
           sitemap_url: str) -> None:
    """Record what this sitemap says now: it lists these URLs (so their vanishing is
    noticed) with these lastmods (so the next change is compared with this one)."""
    rows = [{"u": url, "m": lastmod} for url, lastmod in dict(listed).items()]
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
    rows = [{"site": site, "url": url, "discovered_at": now, "done_at": now} for url in set(urls)]
    if rows:
        statement = _upsert(session, FrontierEntry)
        session.execute(statement.on_conflict_do_update(
            index_elements=["site", "url"],
            set_={"done_at": statement.excluded.done_at, "attempts": 0, "last_error": None,
                  "retry_at": None, "gave_up_at": None}), rows)


def pending(session: Session, site: str, before: datetime) -> list[Discovered]:
    """What runs before `before` decided to fetch and did not finish, less what is backing
    off after failures (its next attempt is not due yet)."""
    rows = session.execute(
        select(FrontierEntry.url, FrontierEntry.listed_in, FrontierEntry.lastmod)
        .where(FrontierEntry.site == site, FrontierEntry.done_at.is_(None),
               FrontierEntry.discovered_at < before,
               or_(FrontierEntry.retry_at.is_(None), FrontierEntry.retry_at <= before))
        .order_by(FrontierEntry.id)
    )
    return [Discovered(url, listed_in, lastmod) for url, listed_in, lastmod in rows]


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
    for failure in {f.url: f for f in failures}.values():
        session.execute(_upsert(session, FrontierEntry).on_conflict_do_nothing(), [{
            "site": site, "url": failure.url, "discovered_at": now, "done_at": None}])
        entry = session.scalars(select(FrontierEntry).where(
            FrontierEntry.site == site, FrontierEntry.url == failure.url)).one()
        attempts = entry.attempts + 1
        give_up = not failure.retry or (failure.may_give_up and attempts >= backoff.give_up_after)
        session.execute(update(FrontierEntry).where(FrontierEntry.id == entry.id).values(
            attempts=attempts, last_error=failure.reason,
            retry_at=None if give_up else now + backoff.delay(attempts),
            gave_up_at=now if give_up else None, done_at=now if give_up else None))


def failing(session: Session, site: str) -> dict[str, HeldBack]:
    """Every URL of the site whose last fetch failed: backing off, or given up."""
    return _failure_states(session, site, FrontierEntry.last_error.isnot(None))


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


def _upsert(session: Session, model: type[Base]) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"incremental crawls need PostgreSQL or SQLite, not {dialect}")
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


# ---- articles gone ---------------------------------------------------------------------------


def mark_gone(session: Session, urls: Iterable[str], now: datetime) -> None:
    for chunk in in_chunks(urls):
        session.execute(update(Article).where(Article.url.in_(chunk), Article.gone_at.is_(None))
                        .values(gone_at=now))


def mark_back(session: Session, urls: Iterable[str]) -> None:
    for chunk in in_chunks(urls):
        session.execute(update(Article).where(Article.url.in_(chunk), Article.gone_at.isnot(None))
                        .values(gone_at=None))


# ---- runs: counts and the lock ---------------------------------------------------------------


def set_run_counts(session: Session, run_id: int, counts: dict[str, int]) -> None:
    unknown = set(counts) - set(COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts {sorted(unknown)}; known: {COUNTS}")
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
        **{f"{name}_articles": counts.get(name, 0) for name in COUNTS}))


@dataclass(frozen=True, slots=True)
class LockHolder:
    run_id: int
    hostname: str
    pid: int
    acquired_at: datetime
    heartbeat_at: datetime


def lock_holder(session: Session, site: str) -> LockHolder | None:
    lock = session.get(CrawlLock, site)
    if lock is None:
        return None
    return LockHolder(lock.run_id, lock.hostname, lock.pid, lock.acquired_at, lock.heartbeat_at)


def take_lock(session: Session, site: str, run_id: int, hostname: str, pid: int,
              now: datetime, replace: LockHolder | None = None) -> bool:
    """Take the site's lock; `replace` names a stale holder to take it over from.

    Atomic on a shared catalogue: of two crawlers racing, one gets it.
    """
    values = {"site": site, "run_id": run_id, "hostname": hostname, "pid": pid,
              "acquired_at": now, "heartbeat_at": now}
    if replace is None:
        session.execute(_upsert(session, CrawlLock).on_conflict_do_nothing().values(values))
    else:
        session.execute(update(CrawlLock).where(
            CrawlLock.site == site, CrawlLock.run_id == replace.run_id,
            CrawlLock.heartbeat_at == replace.heartbeat_at,
        ).values(values))
    # Read back rather than trust rowcount, which not every driver reports for these.
    holder = session.scalar(select(CrawlLock.run_id).where(CrawlLock.site == site))
    return holder == run_id


def beat(session: Session, site: str, run_id: int, now: datetime) -> bool:
    """Renew the lock; False if this run no longer holds it (it was taken over)."""
    session.execute(update(CrawlLock).where(CrawlLock.site == site, CrawlLock.run_id == run_id)
                    .values(heartbeat_at=now))
    return session.scalar(select(CrawlLock.run_id).where(CrawlLock.site == site)) == run_id


def release_lock(session: Session, site: str, run_id: int) -> None:
    session.execute(delete(CrawlLock).where(CrawlLock.site == site, CrawlLock.run_id == run_id))


def is_stale(holder: LockHolder, hostname: str, pid_alive: bool, now: datetime,
             stale_after: timedelta) -> bool:
    """A holder on this host whose process is gone, or anywhere whose heartbeat stopped."""
    if holder.hostname == hostname and not pid_alive:
        return True
    return now - holder.heartbeat_at > stale_after


