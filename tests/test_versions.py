"""`scrapy versions URL --diff` reads each version's text from the record that holds it.

An article's history: version 1 a full response, version 2 a revisit (the same payload
again: its record holds headers only and refers to version 1), version 3 a changed page.
The diff of the last two must compare the revisit's text (version 1's payload) with the
changed page, whoever wrote the WARC file: our crawler (read strictly), or another tool
whose file `scrapy warcimport` catalogued where it lies (read leniently).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter as ForeignWriter

from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture
from storage.imports.importer import Importer
from storage.warc.exchange import HttpExchange, Revisit
from storage.warc.writer import WarcWriter
from tests.crawl import scrapy
from tests.sample_site import SampleSite

BASE = "https://vov.vn"
FIRST = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
HEADERS = [("Content-Type", "text/html; charset=utf-8")]


def article_history() -> tuple[str, list[bytes], list[str]]:
    """A sample article's URL, its page before and after a change, and the two gold texts."""
    site = SampleSite(n_articles=3)
    path = site.articles[0].path
    pages, golds = [site.respond(path, BASE).body], [site.gold_texts()[path]]
    site.change_article(path)
    pages.append(site.respond(path, BASE).body)
    golds.append(site.gold_texts()[path])
    return BASE + path, pages, golds


def write_ours(data_dir: Path, database_url: str, url: str, pages: list[bytes]) -> None:
    """Response, revisit of it, changed response: as our crawler writes and catalogues them."""
    when = [FIRST + timedelta(days=n) for n in range(3)]

    def exchange(body: bytes, fetched_at: datetime) -> HttpExchange:
        return HttpExchange(url, "GET", [], b"", "HTTP/1.1", 200, HEADERS, body, fetched_at)

    with WarcWriter(data_dir / "warc") as writer:
        first = writer.write_exchange(exchange(pages[0], when[0]))
        again = writer.write_exchange(exchange(pages[0], when[1]), revisit=Revisit(
            "identical-payload-digest", first.record_id, url, when[0], first.payload_digest))
        changed = writer.write_exchange(exchange(pages[1], when[2]))

    def capture(pointer, fetched_at: datetime, body: bytes, **revisit: object) -> repository.NewCapture:  # type: ignore[no-untyped-def]
        return repository.NewCapture(
            url=url, warc_type="revisit" if revisit else "response", status=200, fetched_at=fetched_at,
            content_type=HEADERS[0][1], payload_digest=pointer.payload_digest, payload_length=len(body),
            warc_file=pointer.warc_file, warc_offset=pointer.offset, warc_length=pointer.length,
            warc_record_id=pointer.record_id, **revisit)  # type: ignore[arg-type]

    with open_catalogue(database_url).begin() as session:
        ids = repository.insert_captures(session, [capture(first, when[0], pages[0])])
        repository.insert_captures(session, [
            capture(again, when[1], b"", revisit_profile="identical-payload-digest",
                    refers_to_record_id=first.record_id, refers_to_capture_id=ids[first.record_id]),
            capture(changed, when[2], pages[1])])


def write_foreign(data_dir: Path, database_url: str, url: str, pages: list[bytes]) -> None:
    """The same history written by warcio (a header-less revisit, as pywb dedup writes it),
    imported where it lies."""
    path = data_dir / "elsewhere" / "other-tool.warc.gz"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        writer = ForeignWriter(handle, gzip=True)

        def response(body: bytes, day: int) -> None:
            http = StatusAndHeaders("200 OK", list(HEADERS), protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), length=len(body), http_headers=http,
                warc_headers_dict={"WARC-Date": f"2026-03-0{day}T08:00:00Z"}))

        response(pages[0], 1)
        digest = writer.create_warc_record(url, "response", payload=io.BytesIO(pages[0]), length=len(
            pages[0]), http_headers=StatusAndHeaders("200 OK", list(HEADERS), protocol="HTTP/1.1"),
        ).rec_headers.get_header("WARC-Payload-Digest")
        writer.write_record(writer.create_revisit_record(
            url, digest, url, "2026-03-01T08:00:00Z",
            warc_headers_dict={"WARC-Date": "2026-03-02T08:00:00Z"}))
        response(pages[1], 3)
    [report] = Importer(open_catalogue(database_url), data_dir / "warc").run([path])
    assert (report.responses, report.revisits, report.resolved) == (2, 1, 1)


def add_documents(database_url: str, url: str) -> None:
    """One extracted version per capture, as the crawl and `scrapy reextract` leave them."""
    with open_catalogue(database_url).begin() as session:
        captures = session.scalars(select(Capture).where(Capture.url == url).order_by(Capture.fetched_at))
        repository.insert_documents(session, [repository.NewDocument(
            url=url, title=f"version {n}", published_at=None, text_path="001_test.txt",
            text_sha1=f"{n:040d}", extractor_version="test", extracted_at=FIRST + timedelta(days=9),
            capture_id=capture.id) for n, capture in enumerate(captures, 1)])


@pytest.mark.parametrize("writer", [write_ours, write_foreign], ids=["our-warc", "imported-warc"])
def test_the_diff_reads_a_revisit_through_the_record_it_refers_to(writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, pages, golds = article_history()
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    writer(tmp_path, database_url, url, pages)
    add_documents(database_url, url)

    done = scrapy("versions", url, "--diff", data_dir=tmp_path, database_url=database_url)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[-1] for line in lines if " fetched " in line] == ["1", "2", "3"]
    assert "extraction failed" not in done.stdout
    added = {line[1:].strip() for line in lines if line.startswith("+") and not line.startswith("+++")}
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]

    def paragraphs(text: str) -> set[str]:
        return {paragraph.strip() for paragraph in text.split("\n\n")}

    new = paragraphs(golds[1]) - paragraphs(golds[0])
    assert new and added - {""} == new
    assert not removed
