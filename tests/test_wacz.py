"""`scrapy wacz` on two real crawls of the sample site (the second one's hubs are revisits of
the first's records): py-wacz validates the package, its entries are what the archive holds,
and `scrapy warcimport` reads it back into a fresh catalogue with nothing lost."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, Document
from storage.wacz.index import IndexWritten, NotPackaged, renamed_lines
from storage.wacz.writer import Described, WaczWriter
from tests.crawl import PROJECT, CrawlResult, crawl, scrapy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    data_dir = tmp_path_factory.mktemp("wacz-source")
    for _ in range(2):  # run 2: hubs answered 304 or unchanged, archived as revisits of run 1's
        done = crawl(base_url, data_dir, settings={"WARC_MAX_SIZE": "150000"})
        assert done.returncode == 0, done.log[-3000:]
    return done


@pytest.fixture(scope="module")
def everything(archive: CrawlResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("wacz-out") / "all.wacz"
    done = scrapy("wacz", "-o", str(target), data_dir=archive.data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {target}" in done.stdout
    return target


def validate(package: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(package)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "the passed WACZ is valid" in done.stdout, done.stdout + done.stderr


def captures(database_url: str) -> list[Capture]:
    with open_catalogue(database_url)() as session:
        return list(session.scalars(select(Capture)))


def index_lines(package: Path) -> list[tuple[str, dict[str, str]]]:
    with zipfile.ZipFile(package) as wacz:
        text = gzip.decompress(wacz.read("indexes/index.cdx.gz")).decode("utf-8")
    return [(line.rsplit(" {", 1)[0], json.loads("{" + line.split(" {", 1)[1]))
            for line in text.splitlines()]


def test_the_packager_alone_takes_cdxj_indexer_lines(archive: CrawlResult, tmp_path: Path) -> None:
    files = sorted((archive.data_dir / "warc").glob("*.warc.gz"))
    lines = subprocess.run([sys.executable, "-m", "cdxj_indexer.main", "--sort", *map(str, files)],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    target = tmp_path / "alone.wacz"
    with WaczWriter(target) as wacz:
        for path in files:
            wacz.add_warc(path.name, path)
        tally = wacz.write_index(lines, {path.name: path.name for path in files})
        wacz.write_pages([], "none")
        wacz.finish(Described("alone", "cdxj-indexer's lines", "test"))
    assert tally == IndexWritten(lines=len(lines))
    validate(target)


def test_py_wacz_validates_the_package(everything: Path) -> None:
    validate(everything)


def test_warcs_are_stored_byte_for_byte_and_the_datapackage_is_right(everything: Path,
                                                                       archive: CrawlResult) -> None:
    with zipfile.ZipFile(everything) as wacz:
        entries = {info.filename: info for info in wacz.infolist()}
        package = json.loads(wacz.read("datapackage.json"))
        digest = json.loads(wacz.read("datapackage-digest.json"))
        contents = {name: wacz.read(name) for name in entries}
    warcs = sorted(name for name in entries if name.startswith("archive/"))
    assert warcs == sorted(f"archive/{p.name}" for p in (archive.data_dir / "warc").glob("*.warc.gz"))
    for name in warcs:
        assert entries[name].compress_type == zipfile.ZIP_STORED
        assert contents[name] == (archive.data_dir / "warc" / name.removeprefix("archive/")).read_bytes()
    assert entries["indexes/index.cdx.gz"].compress_type == zipfile.ZIP_STORED
    assert (package["profile"], package["wacz_version"]) == ("data-package", "1.1.1")
    listed = {resource["path"]: resource for resource in package["resources"]}
    assert set(listed) == set(entries) - {"datapackage.json", "datapackage-digest.json"}
    for path, resource in listed.items():
        assert resource["hash"] == "sha256:" + hashlib.sha256(contents[path]).hexdigest()
        assert resource["bytes"] == len(contents[path])
    assert digest["hash"] == "sha256:" + hashlib.sha256(contents["datapackage.json"]).hexdigest()


def test_every_index_line_reads_its_record_inside_the_package(everything: Path) -> None:
    lines = index_lines(everything)
    assert [key for key, _ in lines] == sorted(key for key, _ in lines)
    with zipfile.ZipFile(everything) as wacz:
        for _, fields in lines:
            data = wacz.read(f"archive/{fields['filename']}")
            start = int(fields["offset"])
            record = next(iter(ArchiveIterator(_slice(data, start, int(fields["length"])))))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]


def _slice(data: bytes, start: int, length: int) -> io.BytesIO:
    return io.BytesIO(data[start:start + length])


def test_one_page_per_article_with_its_text(everything: Path, archive: CrawlResult) -> None:
    with zipfile.ZipFile(everything) as wacz:
        header, *pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
    assert header["format"] == "json-pages-1.0" and header["id"] == "pages" and header["hasText"]
    with open_catalogue(archive.database_url)() as session:
        newest = {d.url: d for d in session.scalars(select(Document).order_by(Document.id))}
        fetched = {c.id: c.fetched_at for c in session.scalars(select(Capture))}
    assert sorted(page["url"] for page in pages) == sorted(newest)
    assert len({page["id"] for page in pages}) == len(pages)
    index = {(fields["url"], key.split(" ")[1]) for key, fields in index_lines(everything)}
    for page in pages:
        document = newest[page["url"]]
        assert page["title"] == document.title
        assert page["text"] == (archive.data_dir / "text" / document.text_path).read_text("utf-8")
        assert page["ts"] == fetched[document.capture_id].strftime("%Y-%m-%dT%H:%M:%SZ")
        ts = datetime.strptime(page["ts"], "%Y-%m-%dT%H:%M:%SZ").strftime("%Y%m%d%H%M%S")
        assert (page["url"], ts) in index  # the page opens: its capture is indexed


def test_warcimport_reads_it_back_with_nothing_lost(everything: Path, archive: CrawlResult,
                                                    tmp_path: Path) -> None:
    imported = scrapy("warcimport", str(everything), data_dir=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    def identity(rows: list[Capture]) -> list[tuple[object, ...]]:
        return sorted((c.url, c.warc_record_id, c.payload_digest, c.status, c.warc_type) for c in rows)

    assert identity(captures(f"sqlite:///{tmp_path / 'archive.sqlite3'}")) == identity(
        captures(archive.database_url))
    # imported captures have no run: they find their profile by host, here the mirror's
    profiles = tmp_path / "sites"
    profiles.mkdir()
    vov = (PROJECT / "settings" / "sites" / "vov.toml").read_text("utf-8")
    (profiles / "vov.toml").write_text(vov.replace('hosts = ["vov.vn", "www.vov.vn"]',
                                                   'hosts = ["vov.vn", "www.vov.vn", "127.0.0.1"]'))
    again = scrapy("reextract", "-s", f"PROFILES_DIR={profiles}", data_dir=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert texts_by_url(tmp_path) == texts_by_url(archive.data_dir)


def texts_by_url(data_dir: Path) -> dict[str, str]:
    with open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")() as session:
        newest = {d.url: d.text_path for d in session.scalars(select(Document).order_by(Document.id))}
    return {url: (data_dir / "text" / path).read_text("utf-8") for url, path in newest.items()}


def test_a_run_brings_the_files_its_revisits_refer_to(archive: CrawlResult, tmp_path: Path) -> None:
    every = captures(archive.database_url)
    run2 = [c for c in every if c.crawl_run_id == 2]
    by_id = {c.id: c for c in every}
    originals = {by_id[c.refers_to_capture_id].warc_file for c in run2 if c.refers_to_capture_id}
    assert originals and originals - {c.warc_file for c in run2}  # run 1's files are needed
    target = tmp_path / "run2.wacz"
    done = scrapy("wacz", "-o", str(target), "--run", "2", data_dir=archive.data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    validate(target)
    with zipfile.ZipFile(target) as wacz:
        names = {name.removeprefix("archive/") for name in wacz.namelist() if name.startswith("archive/")}
    assert names == {c.warc_file for c in run2} | originals
    outside = re.search(r"\(and (\d+) records outside the selection", done.stdout)
    assert outside and int(outside[1]) > 0, done.stdout
    assert {fields["filename"] for _, fields in index_lines(target)} <= names


def test_an_empty_selection_is_an_error_and_leaves_no_file(archive: CrawlResult, tmp_path: Path) -> None:
    target = tmp_path / "none.wacz"
    done = scrapy("wacz", "-o", str(target), "--url-pattern", "no-such-url-anywhere",
                  data_dir=archive.data_dir)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no capture matches the selection" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_one_line(archive: CrawlResult, tmp_path: Path) -> None:
    done = scrapy("wacz", "-o", str(tmp_path / "missing" / "x.wacz"), data_dir=archive.data_dir)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "x.wacz not written" in done.stderr


def test_every_line_names_a_packaged_file_or_the_index_is_not_written() -> None:
    """A line naming a file outside the package would carry a local path into it: a bug."""
    line = 'org,example)/ 20250314083005 {"url": "https://example.org/", "filename": "%s"%s}'
    names = {"a.warc.gz": "a.warc.gz"}
    assert len(list(renamed_lines([line % ("a.warc.gz", "")], names))) == 1
    with pytest.raises(NotPackaged, match="/home/x/b.warc.gz"):
        list(renamed_lines([line % ("/home/x/b.warc.gz", "")], names))
    revisit = ', "revisit": {"filename": "/home/x/c.warc.gz", "offset": "1", "length": "2"}'
    with pytest.raises(NotPackaged, match="/home/x/c.warc.gz"):
        list(renamed_lines([line % ("a.warc.gz", revisit)], names))


@pytest.fixture
def copied(archive: CrawlResult, tmp_path: Path) -> Path:
    """The archive (WARCs, texts, SQLite catalogue) copied, to be changed by one test."""
    target = tmp_path / "archive"
    shutil.copytree(archive.data_dir, target, ignore=shutil.ignore_patterns("*.wacz"))
    return target


def newest_file(data_dir: Path) -> tuple[str, int]:
    """The WARC file of the newest capture, and how many response/revisit captures it holds."""
    every = captures(f"sqlite:///{data_dir / 'archive.sqlite3'}")
    name = max(every, key=lambda c: c.id).warc_file
    held = [c for c in every if c.warc_file == name and c.warc_type in ("response", "revisit")]
    return name, len(held)


def test_captures_in_a_file_still_being_written_are_left_out_and_counted(copied: Path) -> None:
    name, held = newest_file(copied)
    warc = copied / "warc"
    (warc / name).rename(warc / (name + ".open"))  # a running crawl's file, or a killed one's
    target = copied / "open.wacz"
    done = scrapy("wacz", "-o", str(target), data_dir=copied)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"  {held} captures in files still being written ({name}.open): left out" in done.stdout
    validate(target)
    with zipfile.ZipFile(target) as wacz:
        assert not any(entry.endswith(name) for entry in wacz.namelist())
    assert all(fields["filename"] != name for _, fields in index_lines(target))

    index = scrapy("cdxj", data_dir=copied)
    assert index.returncode == 0, index.stderr
    assert f"{held} captures in files still being written ({name}.open): left out" in index.stderr
    assert index.stdout and f'"{name}"' not in index.stdout


def test_a_revisit_whose_original_is_in_a_file_being_written_is_left_out(copied: Path) -> None:
    """Its line names only its own file, but replaying it reads the original's."""
    every = {c.id: c for c in captures(f"sqlite:///{copied / 'archive.sqlite3'}")}
    revisits = [c for c in every.values() if c.warc_type == "revisit" and c.status != 304
                and c.refers_to_capture_id is not None
                and every[c.refers_to_capture_id].warc_file != c.warc_file]
    assert revisits, "the second run should have made identical-payload revisits of run 1's records"
    name = every[revisits[0].refers_to_capture_id].warc_file
    warc = copied / "warc"
    (warc / name).rename(warc / (name + ".open"))
    index = scrapy("cdxj", data_dir=copied)
    assert index.returncode == 0, index.stderr
    lines = {(c.url, c.fetched_at.strftime("%Y%m%d%H%M%S")) for c in revisits
             if every[c.refers_to_capture_id].warc_file == name}
    written = {(json.loads(line.split(" ", 2)[2])["url"], line.split(" ", 2)[1])
               for line in index.stdout.splitlines()}
    assert lines and not lines & written
    assert "captures in files still being written" in index.stderr


def test_a_file_neither_there_nor_open_is_one_line_exit_1(copied: Path) -> None:
    name, _ = newest_file(copied)
    (copied / "warc" / name).unlink()
    for command, output in (("wacz", "gone.wacz"), ("cdxj", "gone.cdxj")):
        done = scrapy(command, "-o", str(copied / output), data_dir=copied)
        assert done.returncode == 1, done.stdout + done.stderr
        assert done.stderr.count("\n") == 1 and name in done.stderr and "missing" in done.stderr
        assert not (copied / output).exists()


def test_a_bot_challenge_is_not_indexed_and_said_so(copied: Path) -> None:
    database = f"sqlite:///{copied / 'archive.sqlite3'}"
    with open_catalogue(database)() as session, session.begin():
        referred = select(Capture.refers_to_capture_id).where(Capture.refers_to_capture_id.is_not(None))
        challenge = session.scalars(select(Capture).where(  # selected, and no revisit's original
            Capture.warc_type == "response", Capture.status == 200, Capture.id.not_in(referred))).first()
        assert challenge is not None
        challenge.blocked = "challenge"
        url, when = challenge.url, challenge.fetched_at
    target = copied / "blocked.wacz"
    done = scrapy("wacz", "-o", str(target), data_dir=copied)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "not indexed: 1 bot challenges" in done.stdout
    stamp = when.strftime("%Y%m%d%H%M%S")
    assert not [key for key, fields in index_lines(target)
                if fields["url"] == url and key.endswith(stamp)]
    index = scrapy("cdxj", data_dir=copied)
    assert "left out: 1 bot challenges" in index.stderr
