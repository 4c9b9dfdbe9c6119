"""A text file is named by an article row that is committed before the file is written:
a run that dies (or whose catalogue fails) between the file and its `documents` row leaves
a file under the name its URL keeps, and filing it again reuses it, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.archive import Archive
from crawler.extraction.article import EXTRACTOR_VERSION, ArticleText, Extraction
from crawler.items import ArticlePage
from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Document
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
    page = ArticlePage(url=URL, status=200, body=b"<p>x</p>", content_type="text/html",
                       warc_record_id=record_id, fetched_at=datetime.now(UTC))
    extraction = Extraction(EXTRACTOR_VERSION, ArticleText("Tiêu đề", ("VOV.VN - Đoạn một.",)))
    try:
        archive.file_extraction(page, extraction).result(timeout=30)
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
