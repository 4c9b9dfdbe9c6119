"""SQLAlchemy 2.0 typed models: the catalogue that indexes every WARC record.

The table and column names of `captures`, `documents` and `crawl_runs` are a
documented interface (README lists them): users script against them.
The schema itself is created by Alembic migrations (`storage/migrations`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the catalogue stores aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class CrawlRun(Base):
    """One run of one spider: when, what, how it ended, and its final Scrapy stats."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_site_job_id", "site", "job_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    spider: Mapped[str] = mapped_column(String(100))
    site: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # "running" until the spider closes, then Scrapy's close reason ("finished", "shutdown", ...)
    status: Mapped[str] = mapped_column(String(50))
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    # the shared crawl job (numbered per site) this run was a worker of; None: a run of its own
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    stats: Mapped[dict[str, Any] | None]
    # What the run did to articles (NULL until the run ends).
    new_articles: Mapped[int | None]
    changed_articles: Mapped[int | None]
    unchanged_articles: Mapped[int | None]
    not_modified_articles: Mapped[int | None]
    gone_articles: Mapped[int | None]
    failed_articles: Mapped[int | None]


class Capture(Base):
    """One WARC response (or revisit) record, and where it lives."""

    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_url_fetched_at", "url", "fetched_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    warc_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[int]
    fetched_at: Mapped[datetime]
    content_type: Mapped[str | None] = mapped_column(String(255))
    payload_digest: Mapped[str] = mapped_column(String(64), index=True)
    payload_length: Mapped[int] = mapped_column(BigInteger)
    warc_file: Mapped[str] = mapped_column(String(255), index=True)
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    warc_record_id: Mapped[str] = mapped_column(String(64), unique=True)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    # Validators and the discovery source's date: what later incremental runs ask with.
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    source_lastmod: Mapped[datetime | None]
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    # Revisit records only: their WARC-Profile and the record (and capture) holding the payload.
    revisit_profile: Mapped[str | None] = mapped_column(String(100))
    refers_to_record_id: Mapped[str | None] = mapped_column(String(64))
    refers_to_capture_id: Mapped[int | None] = mapped_column(BigId, index=True)
    # Values the server or the file gave that the catalogue could not hold as they were
    # (an impossible status, an out-of-range date, an over-long header): {field: why}. The
    # WARC record keeps them as sent.
    problems: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # Why this response is not the page it names (a bot challenge, with the marker seen):
    # archived, but never extracted nor taken as the URL's capture by recrawl decisions.
    blocked: Mapped[str | None] = mapped_column(String(255))


class Article(Base):
    """An article URL's stable text-file identity: its id gives the sequence number in
    `NNN_<hash>.txt` (see storage.textfiles), so the name is derived, never stored twice."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    first_seen_at: Mapped[datetime]
    # Set when a revisit found the article gone (404/410); cleared if it comes back.
    gone_at: Mapped[datetime | None]


class Document(Base):
    """One extracted version of an article: derived data, rebuildable from the WARC."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, index=True)
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    text_path: Mapped[str] = mapped_column(String(255))
    text_sha1: Mapped[str] = mapped_column(String(40))
    extractor_version: Mapped[str] = mapped_column(String(64))
    extracted_at: Mapped[datetime]
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)
    # Metadata as the page states it (crawler.extraction.metadata); None where it states none. Dates are
    # never after the capture; a value the page gave but that was refused is None, with the
    # reason in metadata_problems ({field: reason}).
    modified_at: Mapped[datetime | None]
    author: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))  # None: SQL NULL
    language: Mapped[str | None] = mapped_column(String(64))
    canonical_url: Mapped[str | None] = mapped_column(Text)
    image_count: Mapped[int | None]
    metadata_problems: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class ExtractionFailure(Base):
    """A capture whose extraction failed, and why: recorded, never silently dropped."""

    __tablename__ = "extraction_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    extractor_version: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime]
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), index=True)


class FrontierEntry(Base):
    """A URL (article, hub, photo) a crawl decided to fetch, until its page and links are safely recorded.

    What a run killed halfway had not finished is what is still pending here, so the
    next run takes it up. `listed_in` is the sitemap that last listed the URL: an article
    that vanishes from it is checked again (and found gone).
    """

    __tablename__ = "frontier"
    __table_args__ = (
        UniqueConstraint("site", "url"),
        Index("ix_frontier_site_done_at", "site", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(Text)
    listed_in: Mapped[str | None] = mapped_column(Text, index=True)
    lastmod: Mapped[datetime | None]
    discovered_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    # Failed attempts since the last success, why the last one failed, when the next one
    # may be made (backing off), and when the URL was given up (done, with its reason).
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]
    gave_up_at: Mapped[datetime | None]
    # "photo" for an article's image (fetched once, never parsed); NULL: told by the profile
    kind: Mapped[str | None] = mapped_column(String(20))


class CrawlLock(Base):
    """One running crawl per site; a lock whose holder died is detected as stale."""

    __tablename__ = "crawl_locks"

    site: Mapped[str] = mapped_column(String(100), primary_key=True)
    run_id: Mapped[int] = mapped_column(BigId)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    acquired_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class ImportedFile(Base):
    """A WARC, ARC or WACZ file of another tool catalogued by `scrapy warcimport`.

    Keyed by where it lies, its size and its content: importing the same file again is
    recognised and changes nothing. `stored_as` names the copy the records are read from
    (relative to the WARC directory) when they could not be read in place (whole-file gzip,
    a WACZ whose WARCs are compressed inside the zip); None when read where it lies.
    """

    __tablename__ = "imported_files"
    __table_args__ = (UniqueConstraint("path", "size", "sha256"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16))
    stored_as: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime]
    records: Mapped[int]
    captures: Mapped[int]
    duplicates: Mapped[int]
    problems: Mapped[int]
