"""`scrapy warcimport` on hostile files, generated here: it fails per record, never per file
or per command, and stays bounded on any input (issue "Hold up on the real web", items 5,
7, 8, 9, 10 and 14). Every test checks that each catalogued pointer reads back its record."""

from __future__ import annotations

import os
import random
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from storage.catalogue.db import open_catalogue
from storage.catalogue.repository import NewCapture
from storage.imports import batches as import_batches
from storage.imports import reports as import_reports
from storage.imports.batches import insert_rows
from storage.imports.importer import Importer, ImportLimits
from storage.imports.reports import Finding
from storage.warc.scanner import ScanProblem
from tests import hostile_files as hostile
from tests.hostile_files import GiB, assert_pointers_read_back, captures, gzip_member, record


@pytest.fixture
def warc_dir(tmp_path: Path) -> Path:
    return tmp_path / "data" / "warc"


def importer(url: str, warc_dir: Path, **limits: int) -> Importer:
    return Importer(open_catalogue(url), warc_dir, ImportLimits(**limits))


# ---- item 5: decompression bombs and very large records -----------------------------------


@pytest.fixture(scope="module")
def bomb_deflate() -> tuple[bytes, int, int]:
    """A WARC record of 1 GiB of zeros, raw-deflated once (~1 MB) for gzip and zip alike."""
    return hostile.zero_bomb_deflate(hostile.bomb_record_prefix(GiB), GiB)


@pytest.fixture(scope="module")
def gzip_bomb(bomb_deflate: tuple[bytes, int, int], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.warc.gz"
    path.write_bytes(BEFORE + hostile.gzip_from_deflate(*bomb_deflate) + AFTER)
    return path


BEFORE = gzip_member(record(b"http://example.com/before"))
AFTER = gzip_member(record(b"http://example.com/after"))


def test_a_gzip_bomb_is_skipped_with_bounded_memory(gzip_bomb: Path, tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done, peak_kib = hostile.scrapy_with_peak_rss(["warcimport", str(gzip_bomb)], env)
    assert done.returncode == 1, done.stderr
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib // 1024} MiB"
    bomb_length = gzip_bomb.stat().st_size - len(BEFORE) - len(AFTER)
    assert f"BAD RECORD {gzip_bomb} at offset {len(BEFORE)}: decompression_bomb: " in done.stdout
    assert f"({bomb_length} bytes skipped)" in done.stdout
    sessions = open_catalogue(env["DATABASE_URL"])
    found = assert_pointers_read_back(sessions, tmp_path / "warc")
    assert [c.url for c in found] == ["http://example.com/before", "http://example.com/after"]


def test_records_over_the_cap_are_skipped_exactly(catalogue_url: str, warc_dir: Path, tmp_path: Path) -> None:
    big = record(b"http://example.com/big", body=os.urandom(300_000))
    small = [record(f"http://example.com/{n}".encode()) for n in range(2)]
    plain = tmp_path / "big.warc"
    plain.write_bytes(small[0] + big + small[1])
    gz = tmp_path / "big.warc.gz"
    gz.write_bytes(b"".join(gzip_member(r) for r in (small[0], big, small[1])))
    reports = importer(catalogue_url, warc_dir, max_record_bytes=200_000).run([plain, gz])
    for report, first in zip(reports, (len(small[0]), len(gzip_member(small[0]))), strict=True):
        [problem] = report.problems
        assert (problem.code, problem.offset) == ("too_large", first)
        assert problem.length == (len(big) if report.format == "warc" else len(gzip_member(big)))
        assert report.responses + report.duplicates == 2  # the same records, twice
    assert len(assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)) == 2


def test_a_skipped_gzip_record_ends_at_its_member_not_at_a_chance_magic(
        catalogue_url: str, warc_dir: Path, tmp_path: Path) -> None:
    """Raw bytes in a stored deflate block can start like a gzip member (`1f 8b 08`) and
    even decompress a little: this body (seed 1483) holds such bytes, which must not be
    taken for the next member when a too-large record is skipped."""
    big = gzip_member(record(b"http://example.com/big", body=random.Random(1483).randbytes(300_000)))
    small = [gzip_member(record(f"http://example.com/{n}".encode())) for n in range(2)]
    path = tmp_path / "chance.warc.gz"
    path.write_bytes(small[0] + big + small[1])
    [report] = importer(catalogue_url, warc_dir, max_record_bytes=200_000).run([path])
    assert [(p.code, p.offset, p.length) for p in report.problems] == [
        ("too_large", len(small[0]), len(big))]
    assert report.responses == 2


def test_a_large_record_is_streamed_not_held(tmp_path: Path) -> None:
    """A 320 MiB response (incompressible, like a video) is imported; its digest and length
    are counted while streaming, so memory stays far below its size."""
    path = tmp_path / "video.warc"
    chunk = os.urandom(1 << 20)
    size = 320 << 20
    http = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n\r\n"
    header = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:video>\r\n"
              b"WARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: http://example.com/video.mp4\r\n"
              b"Content-Type: application/http; msgtype=response\r\nContent-Length: "
              + str(len(http) + size).encode() + b"\r\n\r\n")
    with open(path, "wb") as out:
        out.write(header + http)
        for _ in range(size // len(chunk)):
            out.write(chunk)
        out.write(b"\r\n\r\n" + record(b"http://example.com/next"))
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done, peak_kib = hostile.scrapy_with_peak_rss(["warcimport", str(path)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib // 1024} MiB for a 320 MiB record"
    video, following = captures(open_catalogue(env["DATABASE_URL"]))
    assert (video.payload_length, following.url) == (size, "http://example.com/next")


def test_memory_does_not_grow_with_the_records_of_a_file(tmp_path: Path) -> None:
    """100,000 small records, each repaired (malformed WARC-Date), one in ten bad: every
    finding is printed as it is found and nothing is kept per record, so the import peaks
    where a one-record import does (the importer that kept them all grew ~1 KiB a record:
    +96 MiB here, 200 MiB in all)."""
    peaks = {}
    for count in (1, 100_000):
        path = tmp_path / f"many-{count}.warc"
        hostile.write_many_small_records(path, count)
        env = {"DATA_DIR": str(tmp_path / str(count)), "DATABASE_URL": f"sqlite:///{tmp_path / f'{count}.sqlite3'}"}
        done, peaks[count] = hostile.scrapy_with_peak_rss(["warcimport", str(path)], env)
    growth = (peaks[100_000] - peaks[1]) // 1024
    assert growth < 32, f"peak RSS {peaks[1] // 1024} MiB for 1 record, {peaks[100_000] // 1024} MiB for 100,000"
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("  BAD RECORD ") for line in lines) == 9_000
    assert sum(line.startswith("  REPAIRED ") for line in lines) == 91_000
    assert (f"imported {path} (warc): 100000 records, 90000 responses, 1000 revisits (1000 linked), "
            "0 duplicates, 9000 bad (refused: 9000), 91000 repaired (fetched_at: 91000)") in lines
    with sqlite3.connect(tmp_path / "100000.sqlite3") as connection:
        assert connection.execute("SELECT count(*), count(refers_to_capture_id) FROM captures").fetchone() \
            == (91_000, 1_000)
        assert connection.execute("SELECT records, captures, problems FROM imported_files").fetchone() \
            == (100_000, 91_000, 9_000)


def test_a_report_keeps_the_first_findings_and_counts_them_all(catalogue_url: str, warc_dir: Path,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_reports, "KEPT", 3)
    monkeypatch.setattr(import_batches, "BATCH", 4)  # findings are told a batch at a time
    path = tmp_path / "findings.warc"
    hostile.write_many_small_records(path, 30, bad_every=3, revisit_every=1000)
    told: list[Finding] = []
    progress = SimpleNamespace(found=lambda report, finding: told.append(finding),
                               finished=lambda report: None, linked_later=lambda report, count: None)
    [report] = Importer(open_catalogue(catalogue_url), warc_dir, progress=progress).run([path])
    findings = report.findings
    assert (findings.problem_count, findings.repair_count, len(told)) == (10, 20, 30)
    assert [p.offset for p in report.problems] == [p.offset for p in told if isinstance(p, ScanProblem)][:3]
    assert (len(report.repairs), findings.problem_kinds, findings.repair_kinds) == \
        (3, {"refused": 10}, {"fetched_at": 20})
    assert [f.offset for f in told] == sorted(f.offset for f in told)


def test_duplicates_are_found_across_and_within_batches(catalogue_url: str, warc_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_batches, "BATCH", 2)
    same = [record(f"http://example.com/{n}".encode(), record_id=b"<urn:same>") for n in range(2)]
    other = [record(f"http://example.com/o{n}".encode()) for n in range(3)]
    path = tmp_path / "dupes.warc"
    path.write_bytes(same[0] + other[0] + other[1] + other[2] + same[1] + same[1])
    [report] = importer(catalogue_url, warc_dir).run([path])
    assert (report.responses, report.duplicates) == (4, 2)
    assert len(assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)) == 4


def test_a_wacz_bomb_leaves_nothing_on_disk(bomb_deflate: tuple[bytes, int, int], catalogue_url: str,
                                            warc_dir: Path, tmp_path: Path) -> None:
    deflated, crc, size = bomb_deflate
    zeros = bytes(20 << 20)
    wacz = tmp_path / "bomb.wacz"
    hostile.write_zip(wacz, [
        ("archive/bomb.warc", deflated, crc, size, 8),  # looks like a WARC, inflates 1000:1
        hostile.deflated_entry("archive/zeros.warc", zeros),  # not a WARC at all
        hostile.deflated_entry("archive/good.warc", record(b"http://example.com/good")),
        hostile.deflated_entry("datapackage.json", b"{}"),
    ])
    [report] = importer(catalogue_url, warc_dir).run([wacz])
    codes = {(p.part, p.code) for p in report.problems}
    assert codes == {("archive/bomb.warc", "decompression_bomb"), ("archive/zeros.warc", "not_archive")}
    assert report.responses == 1
    kept = [p for p in warc_dir.rglob("*") if p.is_file()]
    assert [p.name for p in kept] == ["good.warc"] and hostile.leftovers(warc_dir) == []
    assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)


def test_an_extraction_over_its_cap_leaves_nothing(catalogue_url: str, warc_dir: Path, tmp_path: Path) -> None:
    wacz = tmp_path / "large.wacz"
    hostile.write_zip(wacz, [hostile.deflated_entry("archive/large.warc", record(body=os.urandom(50_000))),
                             hostile.deflated_entry("archive/small.warc", record(b"http://example.com/s"))])
    [report] = importer(catalogue_url, warc_dir, max_extracted_bytes=20_000).run([wacz])
    assert [(p.part, p.code) for p in report.problems] == [("archive/large.warc", "too_large")]
    assert [p.name for p in warc_dir.rglob("*") if p.is_file()] == ["small.warc"]


# ---- item 7: dates and other header values -------------------------------------------------


def test_impossible_dates_are_repaired_and_other_files_imported(catalogue_url: str, warc_dir: Path,
                                                                tmp_path: Path) -> None:
    dated = tmp_path / "dated.warc"
    dated.write_bytes(warcinfo_and(
        record(b"http://example.com/1", date=b"9999-12-31T23:59:59Z"),
        record(b"http://example.com/2", date=b"2023-01-02T03:04:05Z"),
        record(b"http://example.com/3", date=b"9999-12-31T23:59:59-05:00"),
    ))
    good = tmp_path / "good.warc"
    good.write_bytes(record(b"http://example.com/good"))
    reports = importer(catalogue_url, warc_dir).run([dated, good])
    assert [(r.outcome, r.responses, len(r.problems), len(r.repairs)) for r in reports] == \
        [("imported", 3, 0, 2), ("imported", 1, 0, 0)]
    rows = {c.url: c for c in assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)}
    assert rows["http://example.com/1"].fetched_at == datetime(2024, 5, 1, 9, tzinfo=UTC)  # warcinfo's
    assert rows["http://example.com/3"].fetched_at == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert "out of range" in rows["http://example.com/3"].problems["fetched_at"]
    assert "2023-01-02T03:04:05Z" in rows["http://example.com/3"].problems["fetched_at"]
    assert rows["http://example.com/2"].problems is None


def warcinfo_and(*records: bytes) -> bytes:
    return hostile.warcinfo() + b"".join(records)


def test_a_clueweb_style_file_imports_every_response(catalogue_url: str, warc_dir: Path,
                                                     tmp_path: Path) -> None:
    """ClueWeb09 wrote `WARC-Date: 2008-10-294T05:21:46-0700` on every record, its warcinfo
    too: all 29 responses come in, dated by the file's modification time."""
    path = tmp_path / "clueweb.warc"
    bad = b"2008-10-294T05:21:46-0700"
    path.write_bytes(hostile.warcinfo(bad) + b"".join(
        record(f"http://clueweb.example/{n}".encode(), date=bad) for n in range(29)))
    os.utime(path, (1_230_000_000, 1_230_000_000))
    [report] = importer(catalogue_url, warc_dir).run([path])
    assert (report.responses, report.problems, len(report.repairs)) == (29, [], 29)
    rows = assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)
    assert {c.fetched_at for c in rows} == {datetime.fromtimestamp(1_230_000_000, UTC)}
    assert all("modification time" in c.problems["fetched_at"] for c in rows)


def test_bad_header_values_are_repaired_never_dropped(catalogue_url: str, warc_dir: Path,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "values.warc"
    path.write_bytes(b"".join([
        record(b"http://example.com/status", status=b"HTTP/1.1 999 Whatever"),
        record(b"http://example.com/huge-status", status=b"HTTP/1.1 99999999999 Overflow"),
        record(b"http://example.com/long", headers=[(b"Content-Type", b"text/html;" + b"x" * 400),
                                                    (b"ETag", b"e" * 300), (b"Last-Modified", b"m" * 100)],
               warc_extra=[b"WARC-IP-Address: " + b"1" * 100]),
        record(b"http://example.com/nul", headers=[(b"ETag", b"\"a\x00b\"")],
               warc_extra=[b"WARC-IP-Address: 10.0.0.1\x00"]),
        record(b"http://example.com/latin", headers=[(b"Last-Modified", b"Mon, 01 Jan 2024 caf\xe9")]),
        record(b"http://example.com/nul-id", record_id=b"<urn:uuid:a\x00b>"),
    ]))
    [report] = importer(catalogue_url, warc_dir).run([path])
    assert (report.responses, report.problems) == (6, [])
    rows = {c.url.rsplit("/", 1)[1]: c for c in assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)}
    assert (rows["status"].status, rows["huge-status"].status) == (0, 0)
    assert "impossible status 999" in rows["status"].problems["status"]
    long = rows["long"]
    assert (len(long.content_type), len(long.etag), len(long.last_modified), len(long.ip_address)) == \
        (255, 255, 64, 64)
    assert set(long.problems) == {"content_type", "etag", "last_modified", "ip_address"}
    assert (rows["nul"].etag, rows["nul"].ip_address) == ('"ab"', "10.0.0.1")
    assert set(rows["nul"].problems) == {"etag", "ip_address"}
    assert rows["latin"].last_modified.endswith("café")
    assert rows["latin"].problems == {"http_headers": "not UTF-8: read as ISO-8859-1"}
    assert "\x00" not in rows["nul-id"].warc_record_id


# ---- item 8: damage, garbage, resynchronisation ---------------------------------------------


def test_damage_mid_record_costs_that_record_only(catalogue_url: str, warc_dir: Path, tmp_path: Path) -> None:
    first, second, third = (record(f"http://example.com/{n}".encode(), body=b"x" * 500) for n in range(3))
    cut = first[:len(first) - 300]  # the record lost 300 bytes: its length swallows the next one
    path = tmp_path / "damaged.warc"
    path.write_bytes(cut + second + third)
    [report] = importer(catalogue_url, warc_dir).run([path])
    [problem] = report.problems
    assert (problem.offset, problem.length) == (0, len(cut))
    assert report.responses == 2
    rows = assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)
    assert [c.url for c in rows] == ["http://example.com/1", "http://example.com/2"]
    assert [c.warc_offset for c in rows] == [len(cut), len(cut) + len(second)]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_garbage_between_records_is_reported_exactly(compressed: bool, catalogue_url: str, warc_dir: Path,
                                                     tmp_path: Path) -> None:
    first, second = record(b"http://example.com/a"), record(b"http://example.com/b")
    garbage = b"\x00garbage without a line end" * 7
    if compressed:
        first, second = gzip_member(first), gzip_member(second)
    path = tmp_path / ("junk.warc.gz" if compressed else "junk.warc")
    path.write_bytes(first + garbage + second)
    [report] = importer(catalogue_url, warc_dir).run([path])
    [problem] = report.problems
    assert (problem.offset, problem.length, problem.code) == (len(first), len(garbage), "garbage")
    assert report.responses == 2
    assert len(assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)) == 2


# ---- item 9: values the catalogue cannot hold, on both engines -------------------------------


def test_urls_the_catalogue_cannot_hold_are_refused_alone(catalogue_url: str, warc_dir: Path,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "urls.warc"
    long = record(b"http://example.com/" + b"a" * 3000)
    nul = record(b"http://example.com/a\x00b")
    good = [record(f"http://example.com/{n}".encode()) for n in range(2)]
    path.write_bytes(good[0] + long + nul + good[1])
    [report] = importer(catalogue_url, warc_dir).run([path])
    trailer = len(b"\r\n\r\n")  # not part of the record's pointer
    assert [(p.offset, p.length, p.code) for p in report.problems] == \
        [(len(good[0]), len(long) - trailer, "refused"), (len(good[0]) + len(long), len(nul) - trailer, "refused")]
    assert "NUL" in report.problems[1].reason and "3,019 bytes" in report.problems[0].reason
    assert report.responses == 2
    assert len(assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)) == 2


@pytest.mark.postgres
def test_a_row_postgresql_refuses_costs_only_its_record(postgres_url: str, warc_dir: Path) -> None:
    """Should a value pass sanitising and still be refused, the batch is retried record by
    record under SAVEPOINTs (a NUL in a URL, bypassing the importer's checks)."""
    sessions = open_catalogue(postgres_url)

    def row(n: int, url: str) -> NewCapture:
        return NewCapture(url=url, warc_type="response", status=200, fetched_at=datetime.now(UTC),
                          content_type=None, payload_digest="sha1:X", payload_length=1,
                          warc_file="/x.warc", warc_offset=n, warc_length=1, warc_record_id=f"<id-{n}>")

    with sessions.begin() as session:  # the mechanism itself, on the real server
        ids, refused = insert_rows(
            session, [row(0, "http://a/"), row(1, "http://b/" + os.urandom(4500).hex()), row(2, "http://c/")], "")
    assert sorted(ids) == ["<id-0>", "<id-2>"]
    assert [(p.offset, p.code) for p in refused] == [(1, "refused")]
    assert [c.url for c in captures(sessions)] == ["http://a/", "http://c/"]


# ---- item 10: WACZ entry names ------------------------------------------------------------


@pytest.mark.parametrize("names", [("archive/a/data.warc.gz", "archive/b/data.warc.gz"),
                                   ("archive/data.warc.gz", "archive/data.warc.gz")],
                         ids=["same base name", "very same name"])
def test_wacz_entries_of_one_name_are_all_imported(names: tuple[str, str], catalogue_url: str,
                                                   warc_dir: Path, tmp_path: Path) -> None:
    wacz = tmp_path / "twins.wacz"
    hostile.write_zip(wacz, [
        hostile.deflated_entry(name, gzip_member(record(f"http://example.com/{n}".encode())))
        for n, name in enumerate(names)])
    [report] = importer(catalogue_url, warc_dir).run([wacz])
    assert (report.responses, report.duplicates, report.problems) == (2, 0, [])
    rows = assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)
    assert sorted(c.url for c in rows) == ["http://example.com/0", "http://example.com/1"]
    assert len({c.warc_file for c in rows}) == 2  # each extracted under a name of its own


def test_unsafe_wacz_entry_names_are_refused_and_leave_nothing(catalogue_url: str, warc_dir: Path,
                                                               tmp_path: Path) -> None:
    good = record(b"http://example.com/good")
    names = ["archive/..", "archive/../escaped.warc", "archive//etc/abs.warc", "archive/a/../../up.warc",
             "archive/back\\slash.warc"]
    wacz = tmp_path / "unsafe.wacz"
    hostile.write_zip(wacz, [hostile.deflated_entry(name, good) for name in names]
                      + [hostile.deflated_entry("archive/ok.warc", good)])
    [report] = importer(catalogue_url, warc_dir).run([wacz])
    assert sorted((p.part, p.code) for p in report.problems) == sorted((n, "unsafe_name") for n in names)
    assert report.responses == 1
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and warc_dir not in p.parents
               and p.name not in ("unsafe.wacz", "archive.sqlite3", "archive.sqlite3-wal", "archive.sqlite3-shm")]
    assert outside == [] and hostile.leftovers(tmp_path) == []
    assert len(assert_pointers_read_back(open_catalogue(catalogue_url), warc_dir)) == 1


# ---- item 14: expected conditions are one line -----------------------------------------------


def test_an_unreachable_catalogue_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "one.warc"
    path.write_bytes(record())
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x"}
    done, _ = hostile.scrapy_with_peak_rss(["warcimport", str(path)], env)
    message = [line for line in done.stderr.splitlines() if not line.startswith("PEAK_RSS_KIB")]
    assert done.returncode == 1 and len(message) == 1, done.stderr
    assert message[0].startswith(
        "scrapy warcimport: the catalogue postgresql+psycopg://127.0.0.1:1/x cannot be used")


def test_an_unwritable_data_dir_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "one.warc"
    path.write_bytes(record())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"DATA_DIR": str(blocker / "data"), "DATABASE_URL": ""}
    done, _ = hostile.scrapy_with_peak_rss(["warcimport", str(path)], env)
    message = [line for line in done.stderr.splitlines() if not line.startswith("PEAK_RSS_KIB")]
    assert done.returncode == 1 and len(message) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "writable" in message[0]


def test_exit_status_is_0_when_only_values_were_repaired(tmp_path: Path) -> None:
    path = tmp_path / "repaired.warc"
    path.write_bytes(record(date=b"9999-12-31T23:59:59Z"))
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    done, _ = hostile.scrapy_with_peak_rss(["warcimport", str(path)], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"REPAIRED {path} at offset 0: fetched_at: date '9999-12-31T23:59:59Z' is out of range" in done.stdout
    usage, _ = hostile.scrapy_with_peak_rss(["warcimport"], env)
    assert usage.returncode == 2


# ---- crash safety: failed files leave nothing, earlier rows never change -----------------------


@pytest.mark.postgres
def test_a_failed_file_leaves_no_copies_behind(postgres_url: str, warc_dir: Path, tmp_path: Path) -> None:
    """The catalogue refuses every write (a read-only transaction): the WACZ whose WARCs
    had to be extracted fails as a whole, and its extracted files are removed again."""
    open_catalogue(postgres_url).kw["bind"].dispose()  # migrated
    read_only = postgres_url.replace("options=", "options=-cdefault_transaction_read_only%3Don%20")
    sessions = sessionmaker(create_engine(read_only), expire_on_commit=False)
    wacz = tmp_path / "deflated.wacz"
    hostile.write_zip(wacz, [hostile.deflated_entry("archive/x.warc.gz", gzip_member(record())),
                             hostile.deflated_entry("archive/y.warc", zlib_whole_file(record(), record()))])
    [report] = Importer(sessions, warc_dir).run([wacz])
    assert report.outcome == "failed" and "read-only" in report.note
    assert not warc_dir.exists() or [p for p in warc_dir.rglob("*") if p.is_file()] == []
    sessions.kw["bind"].dispose()


def zlib_whole_file(*records: bytes) -> bytes:
    """Whole-file gzip, as some tools write: one member for every record."""
    return gzip_member(b"".join(records))


def test_whole_file_gzip_copies_are_valid_and_earlier_rows_unchanged(catalogue_url: str, warc_dir: Path,
                                                                     tmp_path: Path) -> None:
    earlier = tmp_path / "earlier.warc"
    earlier.write_bytes(record(b"http://example.com/earlier"))
    whole = tmp_path / "whole.warc.gz"
    records = [record(f"http://example.com/{n}".encode()) for n in range(3)]
    whole.write_bytes(zlib_whole_file(records[0], b"JUNK\r\n" * 3, records[1], records[2]))
    run = importer(catalogue_url, warc_dir)
    run.run([earlier])
    before = [(c.id, c.url, c.warc_file, c.warc_offset, c.fetched_at) for c in captures(run.sessions)]
    [report] = run.run([whole])
    assert report.responses == 3 and [p.code for p in report.problems] == ["garbage"]
    after = [(c.id, c.url, c.warc_file, c.warc_offset, c.fetched_at) for c in captures(run.sessions)]
    assert after[:1] == before
    assert hostile.assert_valid_gzip_warc(warc_dir / report.stored_as) == 3
    assert len(assert_pointers_read_back(run.sessions, warc_dir)) == 4


def test_whole_file_gzip_found_after_a_batch_went_in_starts_over_cleanly(
        catalogue_url: str, warc_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first pass inserted rows before the shared member showed: they are deleted (by
    the pass's span) and the recompressed copy is imported, earlier rows untouched."""
    monkeypatch.setattr(import_batches, "BATCH", 1)
    earlier = tmp_path / "earlier.warc"
    earlier.write_bytes(record(b"http://example.com/earlier"))
    records = [record(f"http://example.com/{n}".encode()) for n in range(3)]
    mixed = tmp_path / "mixed.warc.gz"
    mixed.write_bytes(gzip_member(records[0]) + zlib_whole_file(records[1], records[2]))
    run = importer(catalogue_url, warc_dir)
    run.run([earlier])
    [report] = run.run([mixed])
    assert (report.responses, report.problems) == (3, [])
    rows = assert_pointers_read_back(run.sessions, warc_dir)
    assert [c.warc_file for c in rows] == [str(earlier)] + [report.stored_as] * 3


def test_sqlite_rows_of_a_failed_file_are_rolled_back(warc_dir: Path, tmp_path: Path) -> None:
    """A file that fails (an unreadable zip) adds no row and costs no other file."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    broken = tmp_path / "broken.wacz"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    good = tmp_path / "good.warc"
    good.write_bytes(record())
    reports = importer(url, warc_dir).run([broken, good])
    assert [r.outcome for r in reports] == ["failed", "imported"]
    with sqlite3.connect(tmp_path / "db.sqlite3") as connection:
        assert connection.execute("SELECT count(*) FROM imported_files").fetchone() == (1,)
