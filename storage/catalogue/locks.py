"""The one-run-per-site lock: a `crawl_locks` row per site, its holder's heartbeat, and
when a holder counts as dead (so a crashed run never blocks the site for good).

Taking and renewing it are single statements checked by reading back, so two crawlers
racing on one shared catalogue never both believe they hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.catalogue.models import CrawlLock
from storage.catalogue.upserts import upsert


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
        session.execute(upsert(session, CrawlLock).on_conflict_do_nothing().values(values))
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


