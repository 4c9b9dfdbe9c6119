"""`scrapy reextract` on a real crawl of the sample site: restoring `text/`, a changed
extractor setting, and the selection options."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.extraction.article import EXTRACTOR_VERSION
from crawler.profiles import load_profiles
from crawler.reextract.progress import LineProgress
from crawler.reextract.select import select_work
from crawler.selection import Selection
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Document, ExtractionFailure
from tests.crawl import PROJECT, CrawlResult, crawl
from tests.sample_site import SampleSite

pytestmark = pytest.mark.slow
PROFILES = PROJECT / "settings" / "sites"
_COUNT_LINE = re.compile(r"^  (\w[\w ]*?) {2,}(\d+)")


def report_counts(stdout: str) -> dict[str, int]:
    """The counts of the command's summary: `  unchanged      30` -> {"unchanged": 30}."""
    return {m.group(1): int(m.group(2)) for line in stdout.splitlines()
            if (m := _COUNT_LINE.match(line))}


@pytest.fixture(scope="module")
def crawled(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    done = crawl(base_url, tmp_path_factory.mktemp("crawl"))
    assert done.returncode == 0, done.log[-3000:]
    return done


def copy_of(crawled: CrawlResult, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(crawled.data_dir, data_dir)
    return data_dir


def reextract(data_dir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir),
           "DATABASE_URL": f"sqlite:///{data_dir / 'archive.sqlite3'}"}
    return subprocess.run([sys.executable, "-m", "scrapy", "reextract", *options], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def table_count(data_dir: Path, model: type) -> int:
    sessions = open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def texts(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (data_dir / "text").iterdir()}


def test_deleting_text_and_reextracting_restores_every_file(site: SampleSite, crawled: CrawlResult,
                                                            tmp_path: Path) -> None:
    data_dir = copy_of(crawled, tmp_path)
    original = texts(data_dir)
    rows = table_count(data_dir, Document), table_count(data_dir, ExtractionFailure)
    shutil.rmtree(data_dir / "text")
    done = reextract(data_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    failures, articles = len(site.expected_failures()), len(site.gold_texts())
    assert report_counts(done.stdout) == {"unchanged": articles, "changed": 0, "new": 0, "failed": failures,
                                          "superseded": 0, "files written": articles}
    for reason in set(site.expected_failures().values()):
        assert f"{reason}: " in done.stdout
    assert texts(data_dir) == original  # byte for byte
    assert (table_count(data_dir, Document), table_count(data_dir, ExtractionFailure)) == rows
    assert f"reextract: {articles + failures}/{articles + failures} (100%)" in done.stderr  # not a terminal


def test_a_changed_extractor_setting_changes_the_texts_and_back(site: SampleSite, crawled: CrawlResult,
                                                                tmp_path: Path) -> None:
    """With a copy of the profile whose lead selector names the date line instead of the lead
    ('VOV.VN - ...', outside the body), every text changes; with the profile as it is, they
    come back."""
    gold = site.gold_texts()
    assert all("\n\nVOV.VN - " in text for text in gold.values())
    data_dir = copy_of(crawled, tmp_path)
    original = texts(data_dir)
    profiles = tmp_path / "sites"
    profiles.mkdir()
    profile = (PROFILES / "vov.toml").read_text(encoding="utf-8")
    changed = re.sub(r"(?m)^lead = .*$", 'lead = ["div.article-meta div"]', profile)
    assert changed != profile
    (profiles / "vov.toml").write_text(changed, encoding="utf-8")
    documents = table_count(data_dir, Document)

    done = reextract(data_dir, "-s", f"SITE_PROFILES_DIR={profiles}", "--workers", "2")
    assert report_counts(done.stdout)["changed"] == len(gold), done.stdout + done.stderr
    assert not any(b"\n\nVOV.VN - " in text for text in texts(data_dir).values())
    assert table_count(data_dir, Document) == documents + len(gold)

    back = reextract(data_dir, "--workers", "1")
    assert report_counts(back.stdout)["changed"] == len(gold), back.stdout + back.stderr
    assert texts(data_dir) == original


def test_selection_options(site: SampleSite, crawled: CrawlResult) -> None:
    sessions = open_catalogue(crawled.database_url)
    profiles = load_profiles(PROFILES)
    extracted = len(site.gold_texts()) + len(site.expected_failures())

    def count(**options: object) -> int:
        with sessions() as session:
            return len(select_work(session, Selection(**options), profiles).items)  # type: ignore[arg-type]

    assert count() == extracted
    assert count(site="vov") == count(run=1) == extracted
    assert count(run=2) == 0
    world = [p for p in [*site.gold_texts(), *site.expected_failures()] if p.startswith("/the-gioi/")]
    assert count(url_pattern=r"/the-gioi/") == len(world) > 0
    assert count(since=datetime(2999, 1, 1, tzinfo=UTC)) == 0
    assert count(until=datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert count(stale_against=EXTRACTOR_VERSION) == 0  # every text is the current extractor's
    assert count(stale_against="vnarchive-0/old") == len(site.gold_texts())
    with sessions() as session:
        ignored = select_work(session, Selection(), profiles).ignored
    assert ignored["not_article"] > 0 and ignored["not_2xx"] > 0  # hubs; 301, 404 and 500


def test_plain_progress_lines_say_rate_and_time_left() -> None:
    stream = io.StringIO()
    progress = LineProgress(10, "reextract", stream, every=0.0)
    progress.advance(4)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("reextract: 4/10 (40%), ") and "pages/s, ETA" in lines[0]
    assert len(lines) == 2
