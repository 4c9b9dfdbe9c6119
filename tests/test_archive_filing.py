"""Texts filed by the crawl (through the archive's writer thread and the one filer), on both
engines: a text file is named by an article row that is committed before the file is
written, so a run that dies (or whose catalogue fails) between the file and its
`documents` row leaves a file under the name its URL keeps, and filing it again reuses it;
a file is rewritten only when its bytes differ; a failure is recorded once per capture."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.archive import Archive
from crawler.extraction.article import EXTRACTOR_VERSION, ArticleText, Extraction, Failure
from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.filing import Filed
from storage.catalogue.models import Document, ExtractionFailure
from storage.warc.exchange import HttpExchange
from storage.warc.writer import WarcWriter

URL = "https://vov.vn/the-gioi/bai-post1.vov"


def exchange() -> HttpExchange:
    return HttpExchange(
        url=URL, method="GET", request_headers=[], request_body=b"", protocol="HTTP/1.1",
        status=200, response_headers=[("Content-Type", "text/html")], response_body=b"<p>x</p>",
        fetched_at=datetime.now(UTC), ip_address=None)


def file_once(tmp_path: Path, catalogue_url: str) -> Archive:
    (tmp_path / "text").mkdir(exist_ok=True)
    archive = Archive(WarcWriter(tmp_path / "warc"), open_catalogue(catalogue_url),
                      tmp_path / "text")
    archive.site = "vov"
    record_id = f"<urn:uuid:{datetime.now(UTC).timestamp()}>"
    archive.archive_exchange(exchange(), record_id, None, "article").result(timeout=30)
    extraction = Extraction(EXTRACTOR_VERSION, ArticleText("Tiêu đề", ("VOV.VN - Đoạn một.",)))
    try:
        archive.file_extraction(URL, record_id, datetime.now(UTC), extraction).result(timeout=30)
    finally:
        archive.close().result(timeout=30)
    return archive


def test_a_text_filed_again_after_a_failed_commit_keeps_its_one_name(
        tmp_path: Path, catalogue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_insert = repository.insert_documents

    def failing(session: object, documents: list[object]) -> None:
        if documents:
            raise OSError("the catalogue went away after the file was written")
        real_insert(session, documents)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "insert_documents", failing)
    with pytest.raises(OSError):
        file_once(tmp_path, catalogue_url)
    first = sorted(p.name for p in (tmp_path / "text").iterdir())
    assert len(first) == 1  # written, under the name its committed article row gives

    monkeypatch.setattr(repository, "insert_documents", real_insert)
    file_once(tmp_path, catalogue_url)
    assert sorted(p.name for p in (tmp_path / "text").iterdir()) == first
    with open_catalogue(catalogue_url)() as session:
        documents = session.scalars(select(Document)).all()
    assert [d.text_path for d in documents] == first


def archive_at(tmp_path: Path, catalogue_url: str) -> Archive:
    (tmp_path / "text").mkdir(exist_ok=True)
    archive = Archive(WarcWriter(tmp_path / "warc"), open_catalogue(catalogue_url), tmp_path / "text")
    archive.site = "vov"
    return archive


def capture(archive: Archive) -> str:
    """One more capture of URL, archived: its record id."""
    record_id = f"<urn:uuid:{uuid.uuid4()}>"
    archive.archive_exchange(exchange(), record_id, None, "article").result(timeout=30)
    return record_id


def file(archive: Archive, record_id: str, extraction: Extraction) -> Filed:
    return archive.file_extraction(URL, record_id, datetime.now(UTC), extraction).result(timeout=30)


def test_a_recrawl_extracting_the_same_text_leaves_its_file_untouched(
        tmp_path: Path, catalogue_url: str) -> None:
    archive = archive_at(tmp_path, catalogue_url)
    extraction = Extraction(EXTRACTOR_VERSION, ArticleText("Tiêu đề", ("VOV.VN - Đoạn một.",)))
    try:
        first = file(archive, capture(archive), extraction)
        path = tmp_path / "text" / first.text_path
        before = path.stat()
        again = file(archive, capture(archive), extraction)
        untouched = path.stat()
        path.unlink()  # a deleted file comes back, even for a text the catalogue has
        restored = file(archive, capture(archive), extraction)
    finally:
        archive.close().result(timeout=30)
    assert again.text_path == restored.text_path == first.text_path
    after = (tmp_path / "text" / first.text_path)
    assert after.read_text("utf-8") == "Tiêu đề\n\nVOV.VN - Đoạn một.\n"
    with open_catalogue(catalogue_url)() as session:
        assert len(session.scalars(select(Document)).all()) == 1  # the same text: one row
    assert (untouched.st_ino, untouched.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_the_same_failure_of_one_capture_is_recorded_once(tmp_path: Path, catalogue_url: str) -> None:
    archive = archive_at(tmp_path, catalogue_url)
    failed = Extraction(EXTRACTOR_VERSION, failure=Failure("no_text", "nothing in the body"))
    try:
        record_id = capture(archive)
        filed = [file(archive, record_id, failed) for _ in range(2)]
        other = file(archive, capture(archive), failed)
    finally:
        archive.close().result(timeout=30)
    assert [f.failure for f in [*filed, other]] == ["no_text"] * 3
    with open_catalogue(catalogue_url)() as session:
        rows = session.execute(select(ExtractionFailure.reason, ExtractionFailure.extractor_version,
                                      ExtractionFailure.capture_id)).all()
    assert len(rows) == 2 and len({row.capture_id for row in rows}) == 2  # one per capture
    assert {(row.reason, row.extractor_version) for row in rows} == {("no_text", EXTRACTOR_VERSION)}
