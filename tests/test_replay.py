"""Every capture replays in the real pywb from our own CDXJ indexes, after any number of runs.

Two crawls of the sample site, the second incremental (hubs answer 304 and become
server-not-modified revisits, robots.txt an identical-payload revisit, a changed article a
new response). pywb serves collections whose index is ours (the per-file indexes the crawl
wrote, or `scrapy cdxj`'s merged one) over our WARC folder, and one indexed by
`cdxj-indexer`: the reproduction of the blank hubs (a 304 revisit served as itself).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture
from storage.cdxjfiles import index_path, own_closed_files
from tests.crawl import CrawlResult, check_archive, crawl, scrapy
from tests.replay import Collection, Pywb, assert_replays, payload_holder, timestamp
from tests.sample_site import SampleSite, serve

pytestmark = pytest.mark.slow


@dataclass
class Archive:
    site: SampleSite
    origin: str
    data_dir: Path
    database_url: str
    runs: list[CrawlResult]

    @property
    def warc_dir(self) -> Path:
        return self.data_dir / "warc"

    def captures(self) -> list[Capture]:
        with open_catalogue(self.database_url)() as session:
            return list(session.scalars(select(Capture).order_by(Capture.id)))


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    """The sample site crawled twice; the second run is incremental, one article changed."""
    data_dir = tmp_path_factory.mktemp("replay")
    site = SampleSite(n_articles=12)
    with serve(site) as origin:
        archive = Archive(site, origin, data_dir, f"sqlite:///{data_dir / 'archive.sqlite3'}", [])
        archive.runs.append(crawl(origin, data_dir))
        site.change_article(site.paths_by_role()["common"][0])
        archive.runs.append(crawl(origin, data_dir))
        for run in archive.runs:
            assert run.returncode == 0, run.log[-4000:]
        check_archive(data_dir, archive.database_url)
        yield archive


@pytest.fixture(scope="module")
def indexes(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The merged index `scrapy cdxj` writes, and cdxj-indexer's index of the same WARCs."""
    folder = tmp_path_factory.mktemp("indexes")
    merged = folder / "merged.cdxj"
    done = scrapy("cdxj", "-o", str(merged), data_dir=archive.data_dir)
    assert done.returncode == 0, done.stderr
    plain = folder / "plain"
    plain.mkdir()
    warcs = [str(archive.warc_dir / name) for name in own_closed_files(archive.warc_dir)]
    script = shutil.which("cdxj-indexer", path=str(Path(sys.executable).parent))
    assert script, "cdxj-indexer is a test dependency: ./scripts/setup installs it"
    indexed = subprocess.run([script, "--sort", *warcs], capture_output=True, text=True, check=True)
    (plain / "index.cdxj").write_text(indexed.stdout, encoding="utf-8")
    return {"merged": merged, "plain": plain / "index.cdxj"}


@pytest.fixture(scope="module")
def pywb(archive: Archive, indexes: dict[str, Path],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pywb]:
    collections = {
        "ours": Collection(archive.warc_dir / "indexes", archive.warc_dir),  # per-file indexes
        "merged": Collection(indexes["merged"], archive.warc_dir),
        "plain": Collection(indexes["plain"], archive.warc_dir),  # cdxj-indexer's: the bug
    }
    with Pywb(tmp_path_factory.mktemp("pywb"), collections) as server:
        yield server


def replayable(archive: Archive) -> list[Capture]:
    """Captures of pages (hubs and articles, first run and second) standing for a 200."""
    with open_catalogue(archive.database_url)() as session:
        return [c for c in archive.captures() if c.blocked is None and
                payload_holder(session, c).status == 200 and c.warc_type in ("response", "revisit")]


def not_modified(archive: Archive) -> list[Capture]:
    return [c for c in archive.captures() if c.warc_type == "revisit" and c.status == 304]


def test_the_second_run_made_each_kind_of_capture(archive: Archive) -> None:
    captures = archive.captures()
    assert not_modified(archive), "no 304 revisit: the reproduction would prove nothing"
    assert any(c.revisit_profile == "identical-payload-digest" for c in captures)
    urls_fetched_whole_twice = [c.url for c in captures if c.warc_type == "response" and c.status == 200
                                and c.crawl_run_id == 2]
    assert urls_fetched_whole_twice, "the changed article was not fetched again"


def test_reproduction_cdxj_indexer_lines_replay_304s_blank(archive: Archive, pywb: Pywb) -> None:
    """What was seen: a standard index makes pywb serve a hub's 304 revisit itself, empty."""
    for capture in not_modified(archive):
        replayed = pywb.get("plain", timestamp(capture), capture.url)
        assert (replayed.status, replayed.body) == (304, b""), capture.url
        with pytest.raises(AssertionError, match="pywb answered 304"):
            with open_catalogue(archive.database_url)() as session:
                assert_replays(pywb, "plain", session, archive.warc_dir, capture)


@pytest.mark.parametrize("collection", ["ours", "merged"])
def test_every_capture_replays_from_our_indexes(archive: Archive, pywb: Pywb, collection: str) -> None:
    captures = replayable(archive)
    assert len(captures) > 30
    with open_catalogue(archive.database_url)() as session:
        for capture in captures:
            assert_replays(pywb, collection, session, archive.warc_dir, capture)


def test_a_changed_article_replays_each_version_at_its_time(archive: Archive, pywb: Pywb) -> None:
    path = archive.site.paths_by_role()["common"][0]
    versions = [c for c in archive.captures() if c.url == archive.origin + path]
    assert len(versions) == 2
    bodies = [pywb.get("ours", timestamp(c), c.url).body for c in versions]
    assert bodies[0] != bodies[1]
    assert b"" not in bodies


def test_lines_match_cdxj_indexer_except_resolved_304s(archive: Archive, indexes: dict[str, Path]) -> None:
    ours = indexes["merged"].read_text(encoding="utf-8").splitlines()
    theirs = indexes["plain"].read_text(encoding="utf-8").splitlines()
    assert ours == sorted(ours)
    resolved = [line for line in ours if '"revisit": {' in line]
    assert sorted(set(ours) - set(resolved)) == sorted(
        line for line in theirs if '"mime": "warc/revisit", "status": "304"' not in line)
    their_304s = {(line.split(" ", 2)[0], line.split(" ", 2)[1]): json.loads(line.split(" ", 2)[2])
                  for line in theirs if '"mime": "warc/revisit", "status": "304"' in line}
    assert len(resolved) == len(their_304s) == len(not_modified(archive))
    for line in resolved:
        key, stamp, text = line.split(" ", 2)
        fields, theirs_ = json.loads(text), their_304s[key, stamp]
        assert fields["revisit"] == {name: theirs_[name] for name in ("filename", "offset", "length")}
        assert (fields["url"], fields["digest"]) == (theirs_["url"], theirs_["digest"])
        assert fields["status"] == "200"
        assert fields["filename"] != theirs_["filename"] or fields["offset"] != theirs_["offset"]


def test_each_closed_warc_file_has_its_index_and_the_merge_equals_them(
        archive: Archive, indexes: dict[str, Path]) -> None:
    names = own_closed_files(archive.warc_dir)
    assert len(names) == 2
    merged_from_files: list[str] = []
    for name in names:
        lines = index_path(archive.warc_dir, name).read_text(encoding="utf-8").splitlines()
        assert lines == sorted(lines) and lines
        merged_from_files += lines
    assert sorted(merged_from_files) == indexes["merged"].read_text(encoding="utf-8").splitlines()
    done = scrapy("cdxj", "--per-file", data_dir=archive.data_dir)
    assert done.returncode == 0 and "0 per-file indexes written" in done.stderr, done.stderr


def test_a_selection_narrows_the_index(archive: Archive, indexes: dict[str, Path]) -> None:
    everything = indexes["merged"].read_text(encoding="utf-8").splitlines()
    by_url = scrapy("cdxj", "--url-pattern", "/rss/", data_dir=archive.data_dir)
    assert by_url.returncode == 0, by_url.stderr
    expected = [line for line in everything if "/rss/" in json.loads(line.split(" ", 2)[2])["url"]]
    assert by_url.stdout.splitlines() == expected and 0 < len(expected) < len(everything)
    second = scrapy("cdxj", "--run", "2", data_dir=archive.data_dir)
    run_two = {timestamp(c) for c in archive.captures() if c.crawl_run_id == 2}
    stamps = {line.split(" ")[1] for line in second.stdout.splitlines()}
    assert stamps and stamps <= run_two and len(second.stdout.splitlines()) < len(everything)


def test_bad_arguments_and_unusable_catalogue(archive: Archive, tmp_path: Path) -> None:
    assert scrapy("cdxj", "--site", "nowhere", data_dir=archive.data_dir).returncode == 2
    assert scrapy("cdxj", "--per-file", "--run", "1", data_dir=archive.data_dir).returncode == 2
    failed = scrapy("cdxj", "-o", str(tmp_path / "no" / "such" / "x.cdxj"), data_dir=archive.data_dir)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr, failed.stderr
    broken = scrapy("cdxj", data_dir=tmp_path, database_url="postgresql+psycopg://u@127.0.0.1:1/x")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr, broken.stderr


def test_a_lost_index_is_left_by_the_next_run_to_cdxj_per_file(archive: Archive, tmp_path: Path) -> None:
    """An index missing though no crash explains it (an archive from before per-file indexes):
    the next run's start-up pass stays bounded and leaves it; `scrapy cdxj --per-file` writes it."""
    copy = tmp_path / "data"
    shutil.copytree(archive.data_dir, copy)
    first = own_closed_files(copy / "warc")[0]
    lost = index_path(copy / "warc", first)
    before = lost.read_text(encoding="utf-8")
    lost.unlink()
    done = crawl(archive.origin, copy)
    assert done.returncode == 0, done.log[-3000:]
    assert len(own_closed_files(copy / "warc")) == 3
    assert not lost.exists()
    per_file = scrapy("cdxj", "--per-file", data_dir=copy)
    assert per_file.returncode == 0 and "1 per-file indexes written" in per_file.stderr, per_file.stderr
    assert lost.read_text(encoding="utf-8") == before
    assert all(index_path(copy / "warc", name).exists() for name in own_closed_files(copy / "warc"))


def test_article_photos_replay_as_the_images_served(archive: Archive, pywb: Pywb) -> None:
    photos = [c for c in replayable(archive) if (c.content_type or "").startswith("image/")]
    assert photos, "the sample site's articles show photos: the crawl should have archived them"
    assert len(photos) == len({c.url for c in photos}), "a photo is fetched once, never again"
    with open_catalogue(archive.database_url)() as session:
        for photo in photos:
            assert_replays(pywb, "ours", session, archive.warc_dir, photo)
            assert pywb.get("ours", timestamp(photo), photo.url).body.startswith(b"\xff\xd8")  # JPEG
