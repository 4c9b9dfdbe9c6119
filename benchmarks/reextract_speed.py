"""Benchmark: `scrapy reextract` on 2 cores against one process calling trafilatura directly.

Crawls a VOV-style sample site (1,000 articles by default) on loopback once, then, on the
same archived pages, in the same run:
  trafilatura  one process, `trafilatura.extract()` on every page's HTML held in memory
               (read from the WARC files beforehand: no I/O, no catalogue)
  reextract    `scrapy reextract --workers 2` after deleting `text/`: reads every record
               from the WARC files, extracts, writes every text file and catalogue row
and prints pages/s of each and their ratio. Target: reextract >= 1.8x trafilatura, i.e.
reading the archive and filing the results cost under 10% of two cores.
The command's rate is its own (from its selection query to its last commit); the wall time of
the whole `scrapy` process (interpreter and worker start-up included) is printed too.

    .venv/bin/python -m benchmarks.reextract_speed [--articles 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

from crawler.profiles import load_profiles
from crawler.reextract.select import Selection, select_work
from storage.catalogue.db import open_catalogue
from storage.warc.reader import read_capture
from tests.crawl import PROJECT, crawl
from tests.sample_site import SampleSite, serve


def archived_pages(data_dir: Path) -> list[bytes]:
    """The decoded HTML of every page reextract will extract, read once, kept in memory."""
    sessions = open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")
    with sessions() as session:
        items = select_work(session, Selection(), load_profiles(PROJECT / "settings" / "sites")).items
    warc_dir = data_dir / "warc"
    return [read_capture(warc_dir, i.warc_file, i.offset, i.length).decoded_payload for i in items]


def trafilatura_rate(pages: list[bytes]) -> float:
    started = time.perf_counter()
    for page in pages:
        trafilatura.extract(page.decode("utf-8", "replace"))
    return len(pages) / (time.perf_counter() - started)


def reextract_rate(data_dir: Path, workers: int) -> tuple[float, float, int]:
    """(the command's own pages/s, pages/s over the whole process's wall time, pages)."""
    shutil.rmtree(data_dir / "text", ignore_errors=True)
    env = {**os.environ, "DATA_DIR": str(data_dir),
           "DATABASE_URL": f"sqlite:///{data_dir / 'archive.sqlite3'}"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "scrapy", "reextract", "--workers", str(workers)],
                          cwd=PROJECT, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    match = re.search(r"Re-extracted (\d+) captures in ([\d.]+) s", done.stdout)
    if match is None:
        raise RuntimeError(f"unexpected output from scrapy reextract:\n{done.stdout}{done.stderr}")
    pages, seconds = int(match.group(1)), float(match.group(2))
    return pages / seconds, pages / wall, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reextract-bench-") as folder:
        data_dir = Path(folder)
        print(f"crawling a sample site of {options.articles} articles ...", flush=True)
        with serve(SampleSite(n_articles=options.articles)) as url:
            done = crawl(url, data_dir)
        if done.returncode != 0:
            sys.exit(f"the crawl failed:\n{done.log[-3000:]}")
        pages = archived_pages(data_dir)
        single = trafilatura_rate(pages)
        own, whole, extracted = reextract_rate(data_dir, options.workers)
    print(f"{len(pages)} archived article pages (machine: {os.cpu_count()} cores)")
    print(f"  trafilatura.extract, 1 process, HTML in memory   {single:8.1f} pages/s")
    print(f"  scrapy reextract --workers {options.workers} (its own timing)    {own:8.1f} pages/s"
          f"   {own / single:.2f}x  (target >= 1.8x)")
    print(f"  scrapy reextract, whole process wall time        {whole:8.1f} pages/s"
          f"   {whole / single:.2f}x  (start-up included)")
    assert extracted == len(pages), (extracted, len(pages))


if __name__ == "__main__":
    main()
