"""Catalogue queries only tests ask: the newest document of every URL, captures counted
per URL (double fetches show), a capture by record id, row counts of the tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.catalogue.models import Capture, CrawlRun, Document, ExtractionFailure


def latest_documents(session: Session) -> Sequence[Document]:
    """The newest document of every URL."""
    newest = (
        select(Document.url, func.max(Document.id).label("id")).group_by(Document.url).subquery()
    )
    return session.scalars(
        select(Document).join(newest, Document.id == newest.c.id).order_by(Document.text_path)
    ).all()


def capture_counts_by_url(session: Session, run_id: int | None = None) -> dict[str, int]:
    """How many captures each URL has (in one run, or overall): finds double fetches."""
    query = select(Capture.url, func.count()).group_by(Capture.url)
    if run_id is not None:
        query = query.where(Capture.crawl_run_id == run_id)
    return {url: count for url, count in session.execute(query)}


def capture_by_record_id(session: Session, record_id: str) -> Capture | None:
    return session.scalar(select(Capture).where(Capture.warc_record_id == record_id))


def table_counts(session: Session) -> dict[str, int]:
    """Row counts of the documented tables."""
    models = {"crawl_runs": CrawlRun, "captures": Capture, "documents": Document,
              "extraction_failures": ExtractionFailure}
    return {name: session.scalar(select(func.count()).select_from(model)) or 0
            for name, model in models.items()}
