"""Crawl runs: the `crawl_runs` row each crawl opens, closes and counts its articles in.

    with sessions.begin() as session:
        run = runs.start_run(session, spider="vov", site="vov", hostname=h, pid=p)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.catalogue.models import CrawlRun
from storage.dates import utc_now

COUNTS = ("new", "changed", "unchanged", "not_modified", "gone", "failed")
"""The article counts a run records (`crawl_runs.<name>_articles`)."""


def start_run(session: Session, *, spider: str, site: str, hostname: str, pid: int) -> CrawlRun:
    run = CrawlRun(
        spider=spider, site=site, started_at=utc_now(), status="running", hostname=hostname, pid=pid
    )
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, run_id: int, *, status: str, stats: dict[str, Any]) -> CrawlRun:
    run = session.get_one(CrawlRun, run_id)
    run.finished_at = utc_now()
    run.status = status
    run.stats = stats
    return run


def crawl_run(session: Session, run_id: int | None = None) -> CrawlRun | None:
    """The run with that id, or the latest run."""
    if run_id is not None:
        return session.get(CrawlRun, run_id)
    return session.scalar(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1))


def join_job(session: Session, run_id: int, job_id: int) -> None:
    """The run is a worker of the site's shared crawl job `job_id`."""
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(job_id=job_id))


def job_runs(session: Session, site: str, job_id: int) -> list[CrawlRun]:
    """The workers of one crawl job, first started first."""
    return list(session.scalars(select(CrawlRun).where(CrawlRun.site == site, CrawlRun.job_id == job_id)
                                .order_by(CrawlRun.id)))


def mark_dead_runs_killed(session: Session, site: str, hostname: str,
                          alive: Callable[[int, datetime], bool]) -> list[int]:
    """Record as killed the site's runs on this host still marked running whose process is
    gone (`alive(pid, started_at)`); their ids."""
    dead = [run for run in session.scalars(select(CrawlRun).where(
        CrawlRun.site == site, CrawlRun.hostname == hostname, CrawlRun.status == "running"))
        if not alive(run.pid, run.started_at)]
    for run in dead:
        run.status = "killed"
    return [run.id for run in dead]


def mark_run_killed(session: Session, run_id: int) -> None:
    """A run that died without closing (its lock was found stale)."""
    run = session.get(CrawlRun, run_id)
    if run is not None and run.status == "running":
        run.status = "killed"


def set_run_counts(session: Session, run_id: int, counts: dict[str, int]) -> None:
    unknown = set(counts) - set(COUNTS)
    if unknown:
        raise ValueError(f"unknown run counts {sorted(unknown)}; known: {COUNTS}")
    session.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
        **{f"{name}_articles": counts.get(name, 0) for name in COUNTS}))
