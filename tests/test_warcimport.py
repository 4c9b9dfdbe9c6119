"""`scrapy warcimport` on real files written by other tools (../shared/data/warc).

The expected counts below were established without our importer: record types and HTTP
status lines counted with FastWARC (streaming each file, or each WARC inside a WACZ), gzip
member boundaries walked with zlib, and every record FastWARC or warcio complained about
read by hand (see the notes). `records` counts every record met, good or bad; `problems`
the bad records reported and skipped; `resolved` the revisits linked to an original when
the file is imported alone.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.profiles import load_profiles
from crawler.reextract.select import select_work
from crawler.selection import Selection
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, ImportedFile
from storage.imports.importer import Importer
from storage.warc.reader import read_capture
from tests.conftest import SHARED_DATA
from tests.crawl import PROJECT
from tests.test_reextract import report_counts

WARC_DATA = SHARED_DATA / "warc"
FAILED = "failed"

# relative path: (records, responses, revisits, resolved alone, problems), or FAILED
EXPECTED: dict[str, tuple[int, int, int, int, int] | str] = {
    "py-wacz/example-collection-with-lists.warc": (38, 18, 0, 0, 0),  # gzip data, .warc name
    "py-wacz/example-collection.warc": (4, 1, 0, 0, 0),
    # ArchiveWeb.page: responses say sha256:<hex>, revisits sha-256:<hex>: all 34 match
    "py-wacz/example-iana.warc": (118, 24, 34, 34, 0),
    "py-wacz/example-resource.warc.gz": (3, 0, 1, 0, 0),  # revisit of a resource record
    "py-wacz/example-warcinfo-metadata.warc": (4, 1, 0, 0, 0),
    "py-wacz/invalid_example_1.wacz": FAILED,  # nothing under archive/
    "py-wacz/invalid_signed_example_1.wacz": (4, 2, 0, 0, 0),
    "py-wacz/logs/wr-crawl.log": FAILED,
    "py-wacz/logs/wr-specs-crawl.log": FAILED,
    "py-wacz/pages/extraPages.jsonl": FAILED,
    "py-wacz/pages/invalid.jsonl": FAILED,
    "py-wacz/pages/invalid.txt": FAILED,
    "py-wacz/pages/pages.jsonl": FAILED,
    "py-wacz/valid_example_1.wacz": (4, 1, 0, 0, 0),
    "py-wacz/valid_example_2.wacz": (4, 1, 0, 0, 0),
    "py-wacz/valid_signed_example_1.wacz": (4, 2, 0, 0, 0),
    "pywb/LICENSE": FAILED,
    "pywb/waczs/invalid_example_1.wacz": FAILED,
    "pywb/waczs/valid_example_1.wacz": (4, 1, 0, 0, 0),
    # filedesc and two records with lengths -1 and 'abc'; one 1-byte text/plain "response"
    "pywb/warcs/bad.arc": (4, 0, 0, 0, 4),
    "pywb/warcs/dupes.warc.gz": (25, 3, 9, 1, 0),  # 8 originals are in iana.warc.gz
    "pywb/warcs/example-bad.warc.gz.bad": (6, 2, 1, 1, 0),  # whole-file gzip: recompressed
    # 'HTTPX/1.1 200 OK'; the second revisit repeats the first one's WARC-Record-ID
    "pywb/warcs/example-extra.warc": (6, 1, 1, 1, 1),
    "pywb/warcs/example-url-agnostic-orig.warc.gz": (2, 1, 0, 0, 0),
    "pywb/warcs/example-url-agnostic-revisit.warc.gz": (2, 0, 1, 0, 0),  # original in -orig
    "pywb/warcs/example-wget-1-14.warc.gz": (6, 1, 0, 0, 0),
    "pywb/warcs/example-wpull.warc.gz": (4, 1, 0, 0, 0),
    "pywb/warcs/example.arc": (2, 1, 0, 0, 0),
    "pywb/warcs/example.arc.gz": (2, 1, 0, 0, 0),
    "pywb/warcs/example.warc": (6, 2, 1, 1, 1),  # a request one byte longer than it says
    "pywb/warcs/example.warc.gz": (6, 2, 1, 1, 0),
    "pywb/warcs/example2.warc.gz": (3, 1, 0, 0, 0),
    "pywb/warcs/httpbin-resource.warc.gz": (1, 0, 0, 0, 0),
    "pywb/warcs/iana.warc.gz": (343, 48, 123, 123, 0),  # chunked payloads, digest-only revisits
    "pywb/warcs/missing-status-text.warc": (1, 1, 0, 0, 0),  # CR CR LF line ends, 'HTTP/1.0 302 '
    "pywb/warcs/post-test.warc.gz": (6, 3, 0, 0, 0),
    "ukwa/IAH-urls-wget.warc.gz": (36, 16, 0, 0, 0),
    "ukwa/compression/README.md": FAILED,
    "ukwa/compression/transfer_compression_brotli.warc": (5, 1, 0, 0, 0),
    "ukwa/compression/transfer_compression_brotli.warc.gz": (5, 1, 0, 0, 0),
    "ukwa/compression/transfer_compression_gzip.warc": (5, 1, 0, 0, 0),
    "ukwa/compression/transfer_compression_gzip.warc.gz": (5, 1, 0, 0, 0),
    "ukwa/compression/transfer_compression_none.warc": (5, 1, 0, 0, 0),
    "ukwa/compression/transfer_compression_none.warc.gz": (5, 1, 0, 0, 0),
    "ukwa/ip-host-testcase.warc.gz": (6, 1, 0, 0, 0),
    "ukwa/truncated_datetime.warc": (5, 1, 0, 0, 0),  # WARC-Date without seconds
    "warcio/bad.arc": (4, 0, 0, 0, 4),
    "warcio/example-bad-non-chunked.warc.gz": (6, 1, 1, 1, 0),  # whole-file gzip
    "warcio/example-bad.warc.gz.bad": (6, 2, 1, 1, 0),  # whole-file gzip
    "warcio/example-digest.warc": (4, 0, 0, 0, 0),  # requests only
    "warcio/example-iana.org-chunked.warc": (3, 1, 0, 0, 0),
    "warcio/example-resource.warc.gz": (3, 0, 0, 0, 0),
    "warcio/example-space-in-target-uri.warc.gz": (2, 0, 0, 0, 0),
    "warcio/example-space-in-url.arc": (2, 0, 0, 0, 1),  # says 1591 bytes, 1579 follow
    "warcio/example-trunc.warc": (4, 0, 0, 0, 1),  # 2 bytes of the gzip body past its length
    "warcio/example-wget-bad-target-uri.warc.gz": (6, 1, 0, 0, 0),  # <uri> (wget 1.19)
    "warcio/example-wrong-chunks.warc.gz": (2, 1, 0, 0, 0),  # a record over 2 gzip members
    "warcio/example.arc": (2, 1, 0, 0, 0),
    "warcio/example.arc.gz": (2, 1, 0, 0, 0),
    "warcio/example.warc": (6, 1, 1, 1, 0),
    "warcio/example.warc.gz": (6, 1, 1, 1, 0),
    "warcio/post-test.warc.gz": (6, 3, 0, 0, 0),
}


@pytest.fixture(scope="module")
def shared() -> Path:
    if not WARC_DATA.is_dir():
        pytest.skip(f"{WARC_DATA} is absent: the shared test archives are not next to this "
                    "checkout (CI has them; on a fresh clone these tests cannot run)")
    return WARC_DATA


@pytest.fixture(scope="module")
def empty_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite catalogue to copy: migrating once is much faster than per file."""
    path = tmp_path_factory.mktemp("template") / "archive.sqlite3"
    open_catalogue(f"sqlite:///{path}").kw["bind"].dispose()
    return path


def fresh(empty_catalogue: Path, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(empty_catalogue, directory / "archive.sqlite3")
    return f"sqlite:///{directory / 'archive.sqlite3'}"


def test_every_shared_file_has_expected_counts(shared: Path) -> None:
    files = {str(p.relative_to(shared)) for p in shared.rglob("*") if p.is_file()}
    assert files == set(EXPECTED), "a file was added or removed: establish its counts and list it"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_imports_alone_with_its_counts(name: str, shared: Path, empty_catalogue: Path,
                                                 tmp_path: Path) -> None:
    sessions = open_catalogue(fresh(empty_catalogue, tmp_path))
    [report] = Importer(sessions, tmp_path / "warc").run([shared / name])
    if EXPECTED[name] == FAILED:
        assert report.outcome == "failed" and report.note and report.failed
        return
    counts = (report.records, report.responses, report.revisits, report.resolved, len(report.problems))
    assert (report.outcome, counts) == ("imported", EXPECTED[name]), report.problems
    assert report.failed == bool(report.problems)
    with sessions() as session:
        captures = session.scalars(select(Capture)).all()
    for capture in captures:  # every pointer reads back its own record
        record = read_capture(tmp_path / "warc", capture.warc_file, capture.warc_offset,
                              capture.warc_length)
        assert (record.target_uri, record.record_type) == (capture.url, capture.warc_type)


def test_problems_name_file_offset_and_reason(shared: Path, empty_catalogue: Path, tmp_path: Path) -> None:
    sessions = open_catalogue(fresh(empty_catalogue, tmp_path))
    [report] = Importer(sessions, tmp_path / "warc").run([shared / "warcio/example-space-in-url.arc"])
    [problem] = report.problems
    assert (problem.offset, problem.reason) == (151, "record is truncated: 1579 of 1591 bytes")


def test_damaged_records_are_skipped_and_earlier_rows_untouched(shared: Path, empty_catalogue: Path,
                                                                tmp_path: Path) -> None:
    """A corrupt gzip member and a file cut in the middle of its last record: reported with
    their offsets, every other record imported, the rows of an earlier import unchanged."""
    good = shared / "pywb/warcs/example-url-agnostic-orig.warc.gz"
    data = (shared / "pywb/warcs/example.warc.gz").read_bytes()
    members = [333, 1864, 2907]  # the response, revisit and response members (zlib walk)
    damaged = bytearray(data)
    damaged[members[1] + 40:members[1] + 60] = b"\xff" * 20  # corrupt the revisit's member
    cut = bytes(damaged[:members[2] + 200])  # and cut the last response short
    bad = tmp_path / "damaged.warc.gz"
    bad.write_bytes(cut)
    url = fresh(empty_catalogue, tmp_path / "db")
    sessions = open_catalogue(url)
    importer = Importer(sessions, tmp_path / "warc")
    importer.run([good])
    before = _rows(url)
    [report] = importer.run([bad])
    assert [p.offset for p in report.problems] == [members[1], members[2]]
    assert "corrupt gzip data" in report.problems[0].reason
    assert "cut short" in report.problems[1].reason
    assert (report.responses, report.revisits) == (1, 0)  # the first response survives
    after = _rows(url)
    assert after[:len(before)] == before and len(after) == len(before) + 1


def _rows(url: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        return connection.execute("SELECT * FROM captures ORDER BY id").fetchall()


def test_a_wacz_with_compressed_warcs_is_extracted(shared: Path, empty_catalogue: Path,
                                                   tmp_path: Path) -> None:
    wacz = tmp_path / "deflated.wacz"
    with zipfile.ZipFile(wacz, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.write(shared / "pywb/warcs/example.warc.gz", "archive/example.warc.gz")
        archive.writestr("datapackage.json", "{}")
    sessions = open_catalogue(fresh(empty_catalogue, tmp_path / "db"))
    [report] = Importer(sessions, tmp_path / "warc").run([wacz])
    assert (report.responses, report.revisits, report.problems) == (2, 1, [])
    assert report.stored_as and report.stored_as.startswith("imported/")
    with sessions() as session:
        files = set(session.scalars(select(Capture.warc_file)))
    assert files == {f"{report.stored_as}/example.warc.gz"}


def test_brotli_and_gzip_bodies_are_decoded(shared: Path, empty_catalogue: Path, tmp_path: Path) -> None:
    sentence = b"Extremely simple webpage used for testing GZip and Brotli transmission compression."
    sessions = open_catalogue(fresh(empty_catalogue, tmp_path))
    names = [f"ukwa/compression/transfer_compression_{kind}.warc" for kind in ("brotli", "gzip")]
    Importer(sessions, tmp_path / "warc").run([shared / name for name in names])
    with sessions() as session:
        captures = session.scalars(select(Capture).order_by(Capture.id)).all()
    assert len(captures) == 2
    for capture in captures:
        record = read_capture(tmp_path / "warc", capture.warc_file, capture.warc_offset,
                              capture.warc_length)
        assert sentence not in record.payload  # stored compressed...
        assert sentence in b" ".join(record.decoded_payload.split())  # ...and decoded


def test_the_command_imports_a_folder_once_and_reextracts_its_pages(shared: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    def scrapy(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    first = scrapy("warcimport", str(shared))
    assert first.returncode == 1, first.stderr  # bad records and two unusable WACZ files
    assert f"BAD RECORD {shared / 'warcio/example-trunc.warc'} at offset 1197:" in first.stdout
    # FastWARC over every file finds 305 distinct WARC-Record-IDs of HTTP responses (135) and
    # revisits (170); the two ARC files with a response exist twice, byte for byte (+2).
    assert "52 files imported: 137 responses, 170 revisits (170 linked" in first.stdout
    counts = _counts(tmp_path)
    again = scrapy("warcimport", str(shared))
    assert "0 files imported" in again.stdout and "52 already imported" in again.stdout
    assert _counts(tmp_path) == counts
    done = scrapy("reextract", "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    # 30 URLs: FastWARC finds 31 with an HTML 2xx response (two spelt <uri> by wget 1.19),
    # less example.com?example=2 (its record id repeats an earlier record's), plus the
    # URI-agnostic revisit test@example.com whose original is in another file.
    assert report_counts(done.stdout) == {"unchanged": 0, "changed": 0, "new": 30, "failed": 0,
                                    "superseded": 28, "files written": 30}
    texts = {p.read_text(encoding="utf-8") for p in (tmp_path / "text").iterdir()}
    assert any(t.startswith("Simple page\n\nExtremely simple webpage used for testing GZip") for t in texts)


def _counts(data_dir: Path) -> tuple[int, int]:
    sessions = open_catalogue(f"sqlite:///{data_dir / 'db.sqlite3'}")
    with sessions() as session:
        return (session.scalar(select(func.count()).select_from(Capture)) or 0,
                session.scalar(select(func.count()).select_from(ImportedFile)) or 0)


@pytest.mark.postgres
def test_the_folder_imports_on_postgresql(shared: Path, postgres_url: str, tmp_path: Path) -> None:
    """PostgreSQL enforces the column lengths that SQLite does not."""
    sessions = open_catalogue(postgres_url)
    reports = Importer(sessions, tmp_path / "warc").run([shared])
    assert sum(r.captures for r in reports) == 307 and sum(r.resolved for r in reports) == 170
    with sessions() as session:
        selected = select_work(session, Selection(), load_profiles(PROJECT / "settings" / "sites"))
    assert len(selected.items) == 30
    sessions.kw["bind"].dispose()
