"""`scrapy reextract` on archives holding what the real web sends: a decompression bomb is
recorded `too_large` in little memory, and the other pages get their texts."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import ExtractionFailure
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
    articles = len(site.gold_texts())
    assert (counts["new"], counts["failed"], counts["files written"]) == (articles, 1, articles), done.stdout
    assert "too_large: 1" in done.stdout
    assert sorted(texts(tmp_path).values()) == sorted(t.encode() for t in site.gold_texts().values())
    with open_catalogue(database_url)() as session:
        failure = session.scalars(select(ExtractionFailure)).one()
    assert (failure.url, failure.reason) == (bomb_url, "too_large")
    assert "more than 16,777,216 bytes" in failure.detail
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


def test_a_record_that_inflates_past_the_cap_is_too_large_without_being_read_whole(
        tmp_path: Path) -> None:
    """Not a Content-Encoding bomb: the WARC record itself (an identity body of 512 MiB in a
    ~0.5 MB gzip member, as another tool may write it) is refused while it inflates."""
    zeros = 512 * MiB
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:0b0b0b0b-0000-4000-8000-"
            b"000000000001>\r\nWARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: "
            b"https://example.com/zeros.html\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: " + str(len(http) + zeros).encode() + b"\r\n\r\n" + http)
    compressor, block = zlib.compressobj(9, zlib.DEFLATED, 31), bytes(MiB)
    parts = [compressor.compress(head)]
    parts += [compressor.compress(block) for _ in range(zeros // MiB)]
    parts += [compressor.compress(b"\r\n\r\n"), compressor.flush()]
    archive = tmp_path / "zeros.warc.gz"
    archive.write_bytes(b"".join(parts))
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": database_url}
    imported = subprocess.run([sys.executable, "-m", "scrapy", "warcimport", str(archive), "-s",
                               "IMPORT_MAX_COMPRESSION_RATIO=100000"], cwd=PROJECT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    assert imported.returncode == 0, imported.stdout + imported.stderr

    done, peak_kib = reextract_measured(tmp_path, database_url, "--workers", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    with open_catalogue(database_url)() as session:
        failure = session.scalars(select(ExtractionFailure)).one()
    assert failure.reason == "too_large" and "gzip member" in failure.detail
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
