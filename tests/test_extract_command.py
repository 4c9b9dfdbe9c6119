"""`scrapy extract FILE...`: saved pages (plain and gzip) give the crawl's text files."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.commands.extract import output_name
from tests.archived import MiB, gzip_bomb
from tests.crawl import PROJECT
from tests.peak_rss import run_measured
from tests.sample_site import SampleSite


def scrapy_extract(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", "extract", *args], cwd=PROJECT,
                          env={**os.environ, "DATA_DIR": str(cwd)}, capture_output=True,
                          text=True, timeout=300, check=False)


def test_saved_pages_give_the_gold_texts(tmp_path: Path) -> None:
    site = SampleSite(n_articles=3)
    gold = site.gold_texts()
    first, second = sorted(gold)[:2]
    plain = tmp_path / "first.html"
    plain.write_bytes(site.respond(first, "https://vov.vn").body)
    packed = tmp_path / "second.html.gz"
    packed.write_bytes(gzip.compress(site.respond(second, "https://vov.vn").body))
    empty = tmp_path / "empty.htm"
    empty.write_bytes(b"")
    out = tmp_path / "out"

    done = scrapy_extract("--site", "vov", "-o", str(out), str(plain), str(packed), str(empty),
                          cwd=tmp_path)
    assert done.returncode == 1  # the empty page
    assert f"FAILED {empty}: empty:" in done.stderr
    assert (out / "first.txt").read_text(encoding="utf-8") == gold[first]
    assert (out / "second.txt").read_text(encoding="utf-8") == gold[second]
    assert sorted(p.name for p in out.iterdir()) == ["first.txt", "second.txt"]

    alone = scrapy_extract("--url", "https://vov.vn" + first, str(plain), cwd=tmp_path)
    assert (alone.returncode, alone.stdout) == (0, gold[first])


def test_output_names() -> None:
    assert output_name(Path("a/0f3e.html.gz")) == "0f3e.txt"
    assert output_name(Path("Page.HTM")) == "Page.txt"
    assert output_name(Path("page")) == "page.txt"


@pytest.mark.skipif(sys.platform != "linux", reason="measures with Linux's prctl")
def test_a_gzip_bomb_is_too_large_in_little_memory(tmp_path: Path) -> None:
    site = SampleSite(n_articles=3)
    path = sorted(site.gold_texts())[0]
    bomb, page = tmp_path / "bomb.html.gz", tmp_path / "page.html"
    bomb.write_bytes(gzip_bomb(1024 * MiB))
    page.write_bytes(site.respond(path, "https://vov.vn").body)
    out = tmp_path / "out"
    done, peak_kib = run_measured(
        [sys.executable, "-m", "scrapy", "extract", "--site", "vov", "-o", str(out), str(bomb),
         str(page)], cwd=PROJECT, env={**os.environ, "DATA_DIR": str(tmp_path)})
    assert done.returncode == 1, done.stderr
    assert f"FAILED {bomb}: too_large: the body decodes (gzip) to more than 16,777,216 bytes" \
        in done.stderr
    assert (out / "page.txt").read_text(encoding="utf-8") == site.gold_texts()[path]
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
