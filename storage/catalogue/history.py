"""A site's history as figures: what each run did, what the site's articles are, what failed.

The queries behind `scrapy summary` and `scrapy report`. Every figure is counted by the
database (GROUP BY), never by loading rows: a site may hold millions of captures and
thousands of runs. Lists of problems are capped (`limit`) and come with their full count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Integer, String, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.catalogue import runs
from storage.catalogue.models import Capture, CrawlRun, Document, ExtractionFailure, FrontierEntry
from storage.catalogue.runs import COUNTS

__all__ = [
    "Problems", "RunFigures", "Shown", "articles_by_day", "articles_by_section", "documents_made_in_run",
    "failures_by_reason", "latest_site", "run_figures", "run_history", "run_problems", "site_failing",
    "site_report", "sites", "warc_files_of_run", "SiteReport",
]


@dataclass(slots=True)
class RunFigures:
    """One run: its row, what its captures add up to, and the figures its Scrapy stats hold."""

    id: int
    site: str
    spider: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    articles: dict[str, int | None]  # COUNTS -> crawl_runs.<name>_articles (None: run not closed)
    captures: int = 0
    warc_bytes: int = 0  # the WARC records of its captures (response and revisit records)
    blocked: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # HTTP status -> captures
    requests: int | None = None  # Scrapy's downloader/request_count
    responses: int | None = None  # Scrapy's response_received_count
    elapsed: float | None = None  # seconds, Scrapy's elapsed_time_seconds, else finished - started

    @property
    def status_classes(self) -> dict[str, int]:
        """Captures by status class: "2xx" ... "5xx", and "other" (0: an impossible status)."""
        classes: dict[str, int] = {}
        for status, count in self.statuses.items():
            name = f"{status // 100}xx" if 100 <= status <= 599 else "other"
            classes[name] = classes.get(name, 0) + count
        return classes

    def rate(self, count: int | None) -> float | None:
        """`count` per second of the run, None when either is unknown."""
        if count is None or not self.elapsed:
            return None
        return count / self.elapsed

    def rates(self) -> list[str]:
        """`12.3 requests/s`, `11.9 pages/s` (pages: responses, else the captures), as known."""
        pages = self.responses if self.responses is not None else self.captures
        return [f"{rate:.1f} {unit}/s" for rate, unit in
                ((self.rate(self.requests), "requests"), (self.rate(pages), "pages"))
                if rate is not None]

    def articles_counted(self) -> str | None:
        """`new 3, changed 1, ...` as `crawl_runs` records it when the run ends; None before."""
        if all(count is None for count in self.articles.values()):
            return None
        return ", ".join(f"{name.replace('_', ' ')} {self.articles[name] or 0}" for name in COUNTS)


def run_figures(session: Session, run: CrawlRun) -> RunFigures:
    return _figures(session, [run])[0]


def job_figures(session: Session, site: str, job_id: int) -> list[tuple[CrawlRun, RunFigures]]:
    """Each worker of one shared crawl job (crawler.frontier), first started first, with its
    figures."""
    workers = runs.job_runs(session, site, job_id)
    return list(zip(workers, _figures(session, workers), strict=True))


def run_history(session: Session, site: str, limit: int = 200) -> tuple[list[RunFigures], int]:
    """The site's last `limit` runs, oldest first, and how many runs the site has in all."""
    total = session.scalar(select(func.count()).select_from(CrawlRun).where(CrawlRun.site == site)) or 0
    latest = session.scalars(select(CrawlRun).where(CrawlRun.site == site)
                             .order_by(CrawlRun.id.desc()).limit(limit)).all()
    return _figures(session, list(reversed(latest))), total


def _figures(session: Session, crawl_runs: list[CrawlRun]) -> list[RunFigures]:
    figures = {run.id: _from_row(run) for run in crawl_runs}
    if not figures:
        return []
    rows = session.execute(
        select(Capture.crawl_run_id, Capture.status, func.count(), func.sum(Capture.warc_length),
               func.count(Capture.blocked))
        .where(Capture.crawl_run_id.in_(list(figures)))
        .group_by(Capture.crawl_run_id, Capture.status))
    for run_id, status, count, warc_bytes, blocked in rows:
        run = figures[run_id]
        run.statuses[status] = count
        run.captures += count
        run.warc_bytes += int(warc_bytes or 0)
        run.blocked += blocked
    return list(figures.values())


def _from_row(run: CrawlRun) -> RunFigures:
    stats: dict[str, Any] = run.stats or {}
    elapsed = _number(stats.get("elapsed_time_seconds"))
    if elapsed is None and run.finished_at is not None:
        elapsed = (run.finished_at - run.started_at).total_seconds()
    requests, responses = (_number(stats.get(key)) for key in
                           ("downloader/request_count", "response_received_count"))
    return RunFigures(
        id=run.id, site=run.site, spider=run.spider, status=run.status, started_at=run.started_at,
        finished_at=run.finished_at,
        articles={name: getattr(run, f"{name}_articles") for name in COUNTS},
        requests=None if requests is None else int(requests),
        responses=None if responses is None else int(responses), elapsed=elapsed,
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def warc_files_of_run(session: Session, run_id: int) -> list[str]:
    return list(session.scalars(select(Capture.warc_file).where(Capture.crawl_run_id == run_id)
                                .group_by(Capture.warc_file).order_by(Capture.warc_file)))


def documents_made_in_run(session: Session, run_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Document)
                          .join(Capture, Document.capture_id == Capture.id)
                          .where(Capture.crawl_run_id == run_id)) or 0


def failures_by_reason(session: Session, *, site: str | None = None,
                       run_id: int | None = None) -> dict[str, int]:
    """Extraction failures by reason, of one run's captures or of all the site's runs."""
    query = (select(ExtractionFailure.reason, func.count())
             .join(Capture, ExtractionFailure.capture_id == Capture.id)
             .group_by(ExtractionFailure.reason).order_by(ExtractionFailure.reason))
    if run_id is not None:
        query = query.where(Capture.crawl_run_id == run_id)
    if site is not None:
        query = query.join(CrawlRun, Capture.crawl_run_id == CrawlRun.id).where(CrawlRun.site == site)
    return {reason: count for reason, count in session.execute(query)}


def _newest_documents_of_site(site: str) -> Any:
    """Ids of the newest document of each URL the site's runs extracted."""
    return (select(func.max(Document.id))
            .join(Capture, Document.capture_id == Capture.id)
            .join(CrawlRun, Capture.crawl_run_id == CrawlRun.id)
            .where(CrawlRun.site == site)
            .group_by(Document.url))


def articles_by_section(session: Session, site: str) -> dict[str | None, int]:
    """The site's articles (newest document of each URL) by the section their page names;
    None: pages that name none. Largest first."""
    count = func.count().label("n")
    rows = session.execute(select(Document.section, count)
                           .where(Document.id.in_(_newest_documents_of_site(site)))
                           .group_by(Document.section).order_by(count.desc(), Document.section))
    return {section: n for section, n in rows}


def articles_by_day(session: Session, site: str, utc_offset: timedelta = timedelta(0),
                    days: int = 366) -> tuple[dict[date, int], int]:
    """The site's articles by day of publication (in the zone `utc_offset` east of UTC), every
    day from the first to the latest publication (at most `days` days, the latest), 0 for a day
    without any; and how many articles state no publication date."""
    newest = Document.id.in_(_newest_documents_of_site(site))
    undated = session.scalar(select(func.count()).select_from(Document)
                             .where(newest, Document.published_at.is_(None))) or 0
    earliest, latest = session.execute(select(func.min(Document.published_at),
                                              func.max(Document.published_at)).where(newest)).one()
    if latest is None:
        return {}, undated
    last_day = (latest + utc_offset).date()
    first_day = max(last_day - timedelta(days=days - 1), (earliest + utc_offset).date())
    since = datetime.combine(first_day, datetime.min.time(), UTC) - utc_offset
    day = _day(Document.published_at, utc_offset, session.get_bind().dialect.name).label("day")
    rows = session.execute(select(day, func.count())
                           .where(newest, Document.published_at >= since).group_by(day))
    counted = {_as_date(value): n for value, n in rows}
    span = (last_day - first_day).days + 1
    return {first_day + timedelta(days=i): counted.get(first_day + timedelta(days=i), 0)
            for i in range(span)}, undated


def _day(column: Any, offset: timedelta, dialect: str) -> ColumnElement[Any]:
    minutes = int(offset.total_seconds() // 60)
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS' in UTC
        return func.date(column, literal(f"{minutes:+d} minutes", String))
    shifted = func.timezone("UTC", column) + func.make_interval(0, 0, 0, 0, 0, literal(minutes, Integer))
    return cast(shifted, Date)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Shown:
    """The first rows of a list, and how many rows it has in all."""

    rows: list[tuple[Any, ...]]
    total: int


@dataclass(frozen=True, slots=True)
class Problems:
    """What went wrong in a run: the site's failing URLs, its bot challenges, its extraction failures."""

    failing: Shown  # (url, reason, attempts, retry_at, gave_up_at)
    failing_by_reason: dict[tuple[str, bool], int]  # (reason, given up) -> URLs
    blocked: Shown  # (url, status, marker, fetched_at)
    extraction_failures: Shown  # (url, reason, detail)


def site_failing(session: Session, site: str, limit: int = 100) -> tuple[Shown, dict[tuple[str, bool], int]]:
    """The site's URLs whose last fetch failed (frontier `last_error`): the first `limit` by
    URL, and the counts by (reason, given up)."""
    failing = (FrontierEntry.site == site, FrontierEntry.last_error.isnot(None))
    given_up = FrontierEntry.gave_up_at.isnot(None)
    counts = {(reason or "", bool(up)): n for reason, up, n in session.execute(
        select(FrontierEntry.last_error, given_up, func.count()).where(*failing)
        .group_by(FrontierEntry.last_error, given_up))}
    rows = session.execute(select(FrontierEntry.url, FrontierEntry.last_error, FrontierEntry.attempts,
                                  FrontierEntry.retry_at, FrontierEntry.gave_up_at)
                           .where(*failing).order_by(FrontierEntry.url).limit(limit))
    return Shown([tuple(row) for row in rows], sum(counts.values())), counts


def run_problems(session: Session, run: CrawlRun, limit: int = 100) -> Problems:
    failing, by_reason = site_failing(session, run.site, limit)
    of_run = Capture.crawl_run_id == run.id
    blocked = Shown(
        [tuple(row) for row in session.execute(
            select(Capture.url, Capture.status, Capture.blocked, Capture.fetched_at)
            .where(of_run, Capture.blocked.isnot(None)).order_by(Capture.id).limit(limit))],
        session.scalar(select(func.count()).select_from(Capture)
                       .where(of_run, Capture.blocked.isnot(None))) or 0)
    failures_of_run = (select(ExtractionFailure.url, ExtractionFailure.reason, ExtractionFailure.detail)
                       .join(Capture, ExtractionFailure.capture_id == Capture.id).where(of_run))
    extraction = Shown(
        [tuple(row) for row in session.execute(failures_of_run.order_by(ExtractionFailure.id).limit(limit))],
        session.scalar(select(func.count()).select_from(failures_of_run.subquery())) or 0)
    return Problems(failing, by_reason, blocked, extraction)


@dataclass(frozen=True, slots=True)
class SiteReport:
    """Everything `scrapy report` shows of one site."""

    site: str
    runs: list[RunFigures]  # the last `runs` runs, oldest first
    total_runs: int
    failures_by_reason: dict[str, int]
    sections: dict[str | None, int]
    days: dict[date, int]
    undated: int
    problems: Problems | None  # of the last run


def site_report(session: Session, site: str, *, runs: int = 200, listed: int = 100, days: int = 366,
                utc_offset: timedelta = timedelta(0)) -> SiteReport:
    figures, total = run_history(session, site, runs)
    last = session.get(CrawlRun, figures[-1].id) if figures else None
    by_day, undated = articles_by_day(session, site, utc_offset, days)
    return SiteReport(
        site=site, runs=figures, total_runs=total,
        failures_by_reason=failures_by_reason(session, site=site),
        sections=articles_by_section(session, site), days=by_day, undated=undated,
        problems=run_problems(session, last, listed) if last is not None else None,
    )


def latest_site(session: Session) -> str | None:
    """The site of the latest crawl run."""
    return session.scalar(select(CrawlRun.site).order_by(CrawlRun.id.desc()).limit(1))


def sites(session: Session) -> list[str]:
    return list(session.scalars(select(CrawlRun.site).group_by(CrawlRun.site).order_by(CrawlRun.site)))
