"""The catalogue on real databases: migrations, and the repository's queries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from storage.catalogue import repository, runs
from storage.catalogue.db import make_engine, open_catalogue, upgrade
from storage.catalogue.models import Article, Capture, Document, ExtractionFailure
from storage.catalogue.repository import NewCapture, NewDocument, NewFailure
from storage.catalogue.upserts import insert_ignoring_duplicates
from storage.textfiles import TEXT_FILE_PATTERN, text_sha1_of
from tests.catalogue_queries import (
    capture_by_record_id,
    capture_counts_by_url,
    latest_documents,
    table_counts,
)

FETCHED = datetime(2024, 5, 14, 1, 30, tzinfo=UTC)


def new_capture(url: str, record: int, run_id: int | None = None, **changes: object) -> NewCapture:
    values: dict[str, object] = dict(
        url=url, warc_type="response", status=200, fetched_at=FETCHED,
        content_type="text/html; charset=utf-8", payload_digest=f"sha1:{record:032d}",
        payload_length=1234, warc_file="a.warc.gz", warc_offset=100 * record, warc_length=99,
        warc_record_id=f"<urn:uuid:{record:08d}-0000-0000-0000-000000000000>",
        etag='"abc"', last_modified="Tue, 14 May 2024 01:30:00 GMT", crawl_run_id=run_id,
    )
    values.update(changes)
    return NewCapture(**values)  # type: ignore[arg-type]


def test_migrations_create_the_documented_tables(catalogue_url: str) -> None:
    engine = make_engine(catalogue_url)
    upgrade(engine)
    upgrade(engine)  # a second upgrade is a no-op, as on every later start
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert {"captures", "documents", "crawl_runs", "alembic_version"} <= tables
    captures = {column["name"] for column in inspector.get_columns("captures")}
    assert {"url", "warc_type", "status", "fetched_at", "content_type", "payload_digest",
            "warc_file", "warc_offset", "warc_length", "warc_record_id", "crawl_run_id"} <= captures
    documents = {column["name"] for column in inspector.get_columns("documents")}
    assert {"url", "title", "published_at", "text_path", "text_sha1", "extractor_version",
            "capture_id"} <= documents
    engine.dispose()


def document_of(capture_id: int, url: str, path: str, text: str) -> NewDocument:
    return NewDocument(url=url, title=text.split("\n")[0], published_at=FETCHED, text_path=path,
                       text_sha1=text_sha1_of(text), extractor_version="v1", extracted_at=FETCHED,
                       capture_id=capture_id)


def test_a_run_its_captures_and_documents_round_trip(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    with sessions.begin() as session:
        run = runs.start_run(session, spider="vov", site="vov", hostname="h", pid=1)
        first = new_capture("https://vov.vn/a-post1.vov", 1, run.id)
        ids = repository.insert_captures(session, [
            first,
            new_capture("https://vov.vn/robots.txt", 2, run.id),
            new_capture(first.url, 3, run.id, fetched_at=FETCHED + timedelta(hours=1)),
        ])
        assert list(ids) == [first.warc_record_id, new_capture("", 2).warc_record_id,
                             new_capture("", 3).warc_record_id]  # in the order given
        path = repository.article_text_paths(session, [first.url])[first.url]
        repository.insert_documents(session, [
            document_of(ids[first.warc_record_id], first.url, path, "Tiêu đề\n\nVOV.VN - x\n")])
        runs.finish_run(session, run.id, status="finished", stats={"item_scraped_count": 1})
    with sessions() as session:
        assert [c.warc_offset for c in repository.captures_of_run(session, run.id)] == [100, 200, 300]
        assert capture_counts_by_url(session, run.id) == {
            "https://vov.vn/a-post1.vov": 2, "https://vov.vn/robots.txt": 1}
        found = capture_by_record_id(session, first.warc_record_id)
        assert found is not None and found.fetched_at == FETCHED  # timezone kept
        [document] = latest_documents(session)
        assert document.capture_id == found.id and document.title == "Tiêu đề"
        assert len(document.text_sha1) == 40
        assert session.scalar(select(Capture).where(Capture.id == found.id)).etag == '"abc"'
        counts = table_counts(session)
        assert counts == {"crawl_runs": 1, "captures": 3, "documents": 1, "extraction_failures": 0}
        run_row = session.get(type(run), run.id)
        assert run_row.status == "finished" and run_row.stats == {"item_scraped_count": 1}


def test_article_file_names_are_stable_and_sequential(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    urls = [f"https://vov.vn/the-gioi/bai-{n}-post{n}.vov" for n in range(3)]
    with sessions.begin() as session:
        first = repository.article_text_paths(session, urls[:2])
    with sessions.begin() as session:  # asked again, later, with a new one: the same names
        again = repository.article_text_paths(session, reversed(urls))
    assert again.items() >= first.items()
    names = [again[url] for url in urls]
    assert sorted(name[:4] for name in names) == ["000_", "001_", "002_"]
    assert names[2].startswith("002_")  # first seen last, numbered last
    assert all(TEXT_FILE_PATTERN.fullmatch(name) for name in names)


def test_an_article_added_meanwhile_by_another_crawler_keeps_its_name(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    url = "https://vov.vn/the-gioi/a-post1.vov"
    with sessions.begin() as other:
        theirs = repository.article_text_paths(other, [url])
    with sessions.begin() as session:  # a duplicate insert is ignored, not an error
        session.execute(insert_ignoring_duplicates(session, Article),
                        [{"url": url, "first_seen_at": FETCHED}])
        assert repository.article_text_paths(session, [url]) == theirs


def test_record_ids_are_unique(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    with sessions.begin() as session:
        repository.insert_captures(session, [new_capture("https://vov.vn/a", 1)])
    with pytest.raises(IntegrityError), sessions.begin() as session:
        repository.insert_captures(session, [new_capture("https://vov.vn/b", 1)])


def test_failures_are_recorded_per_run(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    with sessions.begin() as session:
        run = runs.start_run(session, spider="vov", site="vov", hostname="h", pid=1)
        capture = new_capture("https://vov.vn/x-post9.vov", 9, run.id)
        ids = repository.insert_captures(session, [capture])
        repository.insert_failures(session, [NewFailure(
            url=capture.url, reason="empty", detail="the response body is empty",
            extractor_version="v1", failed_at=FETCHED, capture_id=ids[capture.warc_record_id])])
    with sessions() as session:
        [failure] = repository.failures_of_run(session, run.id)
        assert (failure.reason, failure.url) == ("empty", "https://vov.vn/x-post9.vov")
        assert session.scalar(select(Document)) is None


def test_migrations_build_exactly_the_models(catalogue_url: str) -> None:
    """Autogenerate finds nothing to do: models and migrations never drift apart."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.catalogue.models import Base

    engine = make_engine(catalogue_url)
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_a_row_the_database_refuses_never_costs_the_others(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    with sessions.begin() as session:
        repository.insert_captures(session, [new_capture("https://vov.vn/a", 1)])
    rows = [new_capture("https://vov.vn/b", 2), new_capture("https://vov.vn/a-again", 1),
            new_capture("https://vov.vn/c", 3)]
    with sessions.begin() as session:
        ids, refused = repository.insert_captures_salvaging(session, rows)
    assert sorted(ids) == sorted([rows[0].warc_record_id, rows[2].warc_record_id])
    assert [capture.url for capture, _ in refused] == ["https://vov.vn/a-again"]
    assert "unique" in refused[0][1].lower() or "duplicate" in refused[0][1].lower()
    with sessions() as session:
        assert len(session.scalars(select(Capture)).all()) == 3


def test_odd_page_metadata_is_normalised_never_refused(catalogue_url: str) -> None:
    """A NUL in an author or an over-long language tag, as pages give them, would make
    PostgreSQL refuse the whole batch: they are normalised, with why."""
    sessions = open_catalogue(catalogue_url)
    with sessions.begin() as session:
        ids = repository.insert_captures(session, [new_capture("https://vov.vn/a-post1.vov", 1)])
        paths = repository.article_text_paths(session, ["https://vov.vn/a-post1.vov"])
        [capture_id] = ids.values()
        odd = replace(document_of(capture_id, "https://vov.vn/a-post1.vov",
                                  paths["https://vov.vn/a-post1.vov"], "Tiêu đề\n"),
                      author="Nguyen\x00Van", language="vi-" + "-ab" * 40,
                      metadata_problems={"published_at": "no zone"})
        repository.insert_documents(session, [odd])
        repository.insert_failures(session, [NewFailure(
            url="https://vov.vn/a-post1.vov", reason="x" * 100, detail="a\x00b",
            extractor_version="v1", failed_at=FETCHED, capture_id=odd.capture_id)])
    with sessions() as session:
        stored = session.scalar(select(Document))
        failure = session.scalar(select(ExtractionFailure))
    assert (stored.author, len(stored.language)) == ("NguyenVan", 64)
    assert set(stored.metadata_problems) == {"published_at", "author", "language"}
    assert (len(failure.reason), failure.detail) == (64, "ab")
