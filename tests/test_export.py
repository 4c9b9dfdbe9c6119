"""`scrapy export` on a real crawl of the sample site, and the crawl's `-O` feed beside it.

History shared by the module: crawl 1 of the sample site (with `-O items1.jsonl`), then one
article changes, then crawl 2 (`-O items2.jsonl`) fetches it again. The export must hold one
record per article (its newest version), with the text of its text file, the metadata of its
`documents` row and pointers that read back their records; `--versions` adds the older
version, its text extracted again from the archive; and each record must equal, field for
field, the item the crawl that made that version wrote to its feed.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy.exporters import CsvItemExporter
from sqlalchemy import select

from crawler.items import ExtractedArticle
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun, Document
from storage.exports.records import FIELDS, iso_utc
from storage.exports.writers import open_output
from storage.warc.reader import read_capture
from tests.catalogue_queries import latest_documents
from tests.crawl import PROJECT, crawl_command, scrapy
from tests.sample_site import SampleSite, serve

pytestmark = pytest.mark.slow


@dataclass
class History:
    data_dir: Path
    database_url: str
    gold_before: dict[str, str]  # path -> text, before the change
    gold_after: dict[str, str]
    changed: str  # the path of the article that changed between the crawls
    items: dict[int, dict[str, dict[str, Any]]]  # crawl -> url -> its -O item

    def export(self, *args: str) -> subprocess.CompletedProcess[str]:
        return scrapy("export", *args, data_dir=self.data_dir, database_url=self.database_url)


def feed(path: Path) -> dict[str, dict[str, Any]]:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {item["url"]: item for item in items if item.get("text_path")}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    data_dir = tmp_path_factory.mktemp("export")
    site = SampleSite(n_articles=12)
    items = {}
    with serve(site) as origin:
        command, env = crawl_command(origin, data_dir)

        def crawl(number: int) -> None:
            done = subprocess.run([*command, "-O", str(data_dir / f"items{number}.jsonl")], cwd=PROJECT,
                                  env=env, capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, done.stderr[-4000:]
            items[number] = feed(data_dir / f"items{number}.jsonl")

        crawl(1)
        before = site.gold_texts()
        special = {*site.special.values(), site.redirect_target}
        changed = next(p for p in site.paths_by_role()["common"] if p not in special)
        site.change_article(changed)
        crawl(2)
    return History(data_dir, env["DATABASE_URL"], before, site.gold_texts(), changed, items)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def path_of(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture(scope="module")
def exported(history: History) -> list[dict[str, Any]]:
    done = history.export("-o", str(history.data_dir / "articles.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "without text   0" in done.stderr
    return read_jsonl(history.data_dir / "articles.jsonl")


def test_one_record_per_article_with_its_file_text_and_documents_row(history: History,
                                                                     exported: list[dict[str, Any]]) -> None:
    assert [list(record) for record in exported] == [list(FIELDS)] * len(exported)
    assert {path_of(r["url"]): r["text"] for r in exported} == history.gold_after
    with open_catalogue(history.database_url)() as session:
        newest = {d.url: d for d in latest_documents(session)}
        captures = {c.id: c for c in session.scalars(select(Capture))}
    assert len(exported) == len(newest)
    for record in exported:
        document = newest[record["url"]]
        assert record["text"] == (history.data_dir / "text" / document.text_path).read_text(encoding="utf-8")
        assert record["problems"] is None
        for name in ("title", "author", "section", "language", "canonical_url", "text_path",
                     "extractor_version"):
            assert record[name] == getattr(document, name), name
        assert record["tags"] == (document.tags or [])
        assert record["published_at"] == iso_utc(document.published_at)
        assert record["modified_at"] == iso_utc(document.modified_at)
        capture = captures[document.capture_id]
        assert record["fetched_at"] == iso_utc(capture.fetched_at)
        assert record["fetched_at"].endswith("Z")
        assert record["warc_record_id"] == capture.warc_record_id
    assert any(record["tags"] for record in exported) and any(record["author"] for record in exported)


def test_both_pointers_read_back_the_record_of_the_article(history: History,
                                                           exported: list[dict[str, Any]]) -> None:
    for record in exported:
        for prefix in ("warc_", "payload_warc_"):
            read = read_capture(history.data_dir / "warc", record[f"{prefix}file"],
                                record[f"{prefix}offset"], record[f"{prefix}length"])
            assert (read.record_type, read.target_uri, read.record_id) == (
                "response", record["url"], record[f"{prefix}record_id"])
            assert read.decoded_payload  # a response: the page itself


def test_the_crawl_feed_agrees_field_for_field(history: History, exported: list[dict[str, Any]]) -> None:
    changed = [r for r in exported if path_of(r["url"]) == history.changed]
    assert len(changed) == 1 and changed[0]["url"] in history.items[2]
    for record in exported:
        crawl = 2 if record is changed[0] else 1
        item = history.items[crawl][record["url"]]
        assert {name: item[name] for name in FIELDS} == record
        assert item["failure"] is None


def test_the_crawl_feed_keys_are_in_the_exports_order(history: History) -> None:
    items = [item for feed in history.items.values() for item in feed.values()]
    assert items and all(list(item) == [*FIELDS, "failure"] for item in items)


def test_a_crawl_csv_feed_has_the_exports_header() -> None:
    """Scrapy's CSV feed takes its header from the item's fields, in their order."""
    out = io.BytesIO()
    exporter = CsvItemExporter(out)
    exporter.start_exporting()
    exporter.export_item(ExtractedArticle("https://example.org/a", failure="no_text"))
    exporter.finish_exporting()
    assert out.getvalue().decode("utf-8").splitlines()[0].split(",") == [*FIELDS, "failure"]


def test_csv_holds_the_same_records(history: History, exported: list[dict[str, Any]]) -> None:
    target = history.data_dir / "articles.csv"
    done = history.export("-o", str(target))
    assert done.returncode == 0, done.stderr
    with open(target, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == list(FIELDS)
        rows = list(reader)

    def from_csv(row: dict[str, str]) -> dict[str, Any]:
        record: dict[str, Any] = {name: value or None for name, value in row.items()}
        record["tags"] = json.loads(row["tags"])
        record["problems"] = json.loads(row["problems"]) if row["problems"] else None
        for name in ("warc_offset", "warc_length", "payload_warc_offset", "payload_warc_length"):
            record[name] = int(row[name])
        return record

    assert [from_csv(row) for row in rows] == exported


def test_stdout_gives_the_same_json_lines(history: History, exported: list[dict[str, Any]]) -> None:
    done = history.export("-o", "-")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == exported


def test_versions_adds_the_older_text_extracted_again_from_the_archive(history: History) -> None:
    target = history.data_dir / "versions.jsonl"
    done = history.export("-o", str(target), "--versions")
    assert done.returncode == 0, done.stderr
    assert "re-extracted   1" in done.stderr
    records = read_jsonl(target)
    changed = [r for r in records if path_of(r["url"]) == history.changed]
    assert [r["text"] for r in changed] == [history.gold_before[history.changed],
                                            history.gold_after[history.changed]]
    assert changed[0]["fetched_at"] < changed[1]["fetched_at"]
    assert changed[0]["warc_record_id"] != changed[1]["warc_record_id"]
    old = history.items[1][changed[0]["url"]]  # the first crawl's item is the older version
    assert {name: old[name] for name in FIELDS} == changed[0]
    assert len(records) == len(history.gold_after) + 1
    assert [r["url"] for r in records] == sorted(r["url"] for r in records)


def test_selection_narrows_the_records(history: History, exported: list[dict[str, Any]]) -> None:
    with open_catalogue(history.database_url)() as session:
        second = session.scalars(select(CrawlRun.id).order_by(CrawlRun.id.desc())).first()
    done = history.export("-o", "-", "--run", str(second))
    assert done.returncode == 0, done.stderr
    assert [path_of(json.loads(line)["url"]) for line in done.stdout.splitlines()] == [history.changed]

    pattern = history.changed.rsplit("-", 1)[0]
    done = history.export("-o", "-", "--url-pattern", pattern, "--site", "vov")
    assert [path_of(json.loads(line)["url"]) for line in done.stdout.splitlines()] == [history.changed]

    # as of the first run's end: every article, the changed one in its first version
    first = {r["url"]: r for r in exported if path_of(r["url"]) != history.changed}
    until = min(r["fetched_at"] for r in exported if path_of(r["url"]) == history.changed)
    done = history.export("-o", "-", "--until", until)
    records = {r["url"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert len(records) == len(exported)
    assert {path_of(u): r["text"] for u, r in records.items()} == history.gold_before
    assert all(records[url] == record for url, record in first.items())


@pytest.mark.parametrize("args", [
    [],                                       # no output named
    ["-o", "out.txt"],                        # no format known
    ["-o", "out.jsonl", "--format", "xml"],   # no such format
    ["-o", "out.jsonl", "--site", "nowhere"],
    ["-o", "out.jsonl", "--since", "yesterday"],
    ["-o", "out.jsonl", "--url-pattern", "("],
    ["-o", "out.jsonl", "extra"],
])
def test_bad_arguments_exit_2_and_write_nothing(history: History, args: list[str], tmp_path: Path) -> None:
    done = scrapy("export", *args, data_dir=history.data_dir, database_url=history.database_url)
    assert done.returncode == 2, done.stderr
    assert not (PROJECT / "out.jsonl").exists() and not (PROJECT / "out.txt").exists()


def test_a_missing_text_file_gives_a_record_without_text(history: History, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(history.data_dir, data_dir)
    database_url = f"sqlite:///{data_dir / 'archive.sqlite3'}"
    with open_catalogue(database_url)() as session:
        lost = session.scalars(select(Document).order_by(Document.id)).first()
    assert lost is not None
    (data_dir / "text" / lost.text_path).unlink()
    unreadable = next(p for p in (data_dir / "text").iterdir() if p.name != lost.text_path)
    unreadable.write_bytes(b"\xff\xfe not UTF-8")

    done = scrapy("export", "-o", str(tmp_path / "out.jsonl"), data_dir=data_dir, database_url=database_url)

    assert done.returncode == 0, done.stderr
    records = read_jsonl(tmp_path / "out.jsonl")
    assert len(records) == len(history.gold_after)
    missing = [r for r in records if r["text"] is None]
    assert {r["text_path"] for r in missing} == {lost.text_path, unreadable.name}
    assert all(r["problems"]["text"] and r["title"] for r in missing)
    assert "without text   2  (missing_file: 1, unreadable_file: 1" in done.stderr


def test_an_unusable_output_or_catalogue_exits_1_in_one_line(history: History, tmp_path: Path) -> None:
    done = history.export("-o", str(tmp_path / "no" / "such" / "folder" / "out.jsonl"))
    assert done.returncode == 1
    assert done.stderr.startswith("scrapy export: ") and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr

    done = scrapy("export", "-o", str(tmp_path / "out.jsonl"), data_dir=history.data_dir,
                  database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "out.jsonl").exists()

    done = scrapy("export", "-o", str(tmp_path / "out.jsonl"), data_dir=tmp_path / "empty",
                  database_url=history.database_url)
    assert done.returncode == 1 and "text folder" in done.stderr, done.stderr


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("the previous export\n")
    with pytest.raises(RuntimeError), open_output(str(target)) as stream:
        stream.write('{"url": "half"}\n')
        raise RuntimeError("the catalogue went away")
    assert target.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_version_from_a_revisit_points_at_both_records(catalogue_url: str, tmp_path: Path) -> None:
    """Response, revisit of it, changed response, one document each (as `reextract` leaves a
    revisit's document): the revisit's record holds headers only, the payload pointer names
    the record holding its page. Texts the file does not hold and that an older extractor
    made are null, each with its reason. Also runs the catalogue query on PostgreSQL."""
    from tests.test_versions import add_documents, article_history, write_ours

    url, pages, _ = article_history()
    write_ours(tmp_path, catalogue_url, url, pages)
    add_documents(catalogue_url, url)
    (tmp_path / "text").mkdir()

    done = scrapy("export", "-o", "-", "--versions", data_dir=tmp_path, database_url=catalogue_url)

    assert done.returncode == 0, done.stderr
    first, revisit, changed = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["payload_warc_record_id"] == first["warc_record_id"]
    assert revisit["payload_warc_record_id"] == first["warc_record_id"] != revisit["warc_record_id"]
    assert changed["payload_warc_record_id"] == changed["warc_record_id"]
    for record, kind in ((revisit, "revisit"), (first, "response")):
        read = read_capture(tmp_path / "warc", record["warc_file"], record["warc_offset"],
                            record["warc_length"])
        assert (read.record_type, read.record_id) == (kind, record["warc_record_id"])
    read = read_capture(tmp_path / "warc", revisit["payload_warc_file"], revisit["payload_warc_offset"],
                        revisit["payload_warc_length"])
    assert (read.record_type, read.record_id, read.decoded_payload) == ("response", first["warc_record_id"],
                                                                         pages[0])
    assert [r["text"] for r in (first, revisit, changed)] == [None, None, None]
    assert "older version, made by extractor test" in revisit["problems"]["text"]
    assert "missing" in changed["problems"]["text"]
    assert "(missing_file: 1, older_extractor: 2;" in done.stderr


def test_versions_stream_across_fetches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Rows come ROWS_PER_FETCH at a time: versions read past a fetch's end stay whole."""
    from storage.catalogue import selection
    from tests.test_versions import add_documents, article_history, write_ours

    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    url, pages, _ = article_history()
    other = url.replace(".vov", "-2.vov")
    for one in (url, other):
        write_ours(tmp_path, database_url, one, pages)
        add_documents(database_url, one)
    monkeypatch.setattr(selection, "ROWS_PER_FETCH", 2)
    with open_catalogue(database_url)() as session:
        found = list(selection.versions_by_url(session))
    assert [u for u, _ in found] == sorted([url, other])
    versions = dict(found)[url]
    assert [(v.document.title, v.capture.warc_type, v.newest) for v in versions] == [
        ("version 1", "response", False), ("version 2", "revisit", False), ("version 3", "response", True)]
    assert versions[1].capture.refers_to_capture_id == versions[0].capture.id
    assert versions[1].capture.original_record_id == versions[0].capture.warc_record_id
