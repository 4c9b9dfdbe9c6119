"""`scrapy reextract` on archives holding what the real web sends: a decompression bomb is
recorded `too_large` in little memory, and the other pages get their texts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import open_catalogue
from storage.models import ExtractionFailure
from tests.archived import MiB, Page, archive_pages, gzip_bomb
from tests.crawl import PROJECT
from tests.peak_rss import run_measured
from tests.sample_site import SampleSite
from tests.test_reextract import report_counts, texts

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="measures with Linux's prctl")


def reextract_measured(data_dir: Path, database_url: str, *options: str) -> tuple[
        subprocess.CompletedProcess[str], int]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    return run_measured([sys.executable, "-m", "scrapy", "reextract", *options], cwd=PROJECT,
                        env=env)


def test_a_gzip_bomb_is_too_large_and_the_run_stays_small(tmp_path: Path) -> None:
    site = SampleSite(n_articles=3)
    articles = [Page("https://vov.vn" + path, site.respond(path, "https://vov.vn").body)
                for path in site.gold_texts()]
    bomb_url = articles[0].url.replace("-post", "-bomb-post")
    bomb = Page(bomb_url, gzip_bomb(1024 * MiB), (("Content-Type", "text/html; charset=utf-8"),
                                                  ("Content-Encoding", "gzip")))
    assert len(bomb.body) < 1.1 * MiB
    database_url = archive_pages(tmp_path, [*articles, bomb])

    done, peak_kib = reextract_measured(tmp_path, database_url, "--workers", "2")

    assert done.returncode == 0, done.stdout + done.stderr
    counts = report_counts(done.stdout)
    assert (counts["new"], counts["failed"], counts["files written"]) == (3, 1, 3), done.stdout
    assert "too_large: 1" in done.stdout
    assert sorted(texts(tmp_path).values()) == sorted(t.encode() for t in site.gold_texts().values())
    with open_catalogue(database_url)() as session:
        failure = session.scalars(select(ExtractionFailure)).one()
    assert (failure.url, failure.reason) == (bomb_url, "too_large")
    assert "more than 2,097,152 bytes" in failure.detail
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
