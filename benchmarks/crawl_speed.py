"""Benchmark: our full `vov` crawl against a bare Scrapy crawl of the same sample site.

Serves a VOV-style sample site (2,000 articles by default) on loopback and crawls it
twice with the same spider and discovery rules:
  bare  no archive, no catalogue, no extraction (WARC_ENABLED=False, ITEM_PIPELINES={})
  full  WARC files, catalogue, extraction in worker processes (the real job)
and prints pages/s and peak memory (RSS summed over the crawl's process tree) of each,
and the full crawl's rate as a share of the bare one's, measured in the same run.

    .venv/bin/python -m benchmarks.crawl_speed [--articles 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from storage import repository
from storage.db import open_catalogue
from tests.crawl import FAST, PROJECT
from tests.sample_site import SampleSite, serve


@dataclass
class Measure:
    name: str
    pages: int
    seconds: float
    peak_rss: int
    crawler_cpu: float  # CPU seconds of the crawl process and its workers
    server_cpu: float  # CPU seconds of this process: the sample site's server

    @property
    def rate(self) -> float:
        return self.pages / self.seconds


def peak_tree_rss(process: psutil.Process, stop: threading.Event, peak: list[int]) -> None:
    """Sample the summed RSS of a process and its children until told to stop."""
    while not stop.is_set():
        try:
            tree = [process, *process.children(recursive=True)]
            peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        stop.wait(0.1)


def run_crawl(name: str, origin: str, data_dir: Path, settings: dict[str, str]) -> Measure:
    options = [a for k, v in {**FAST, **settings}.items() for a in ("-s", f"{k}={v}")]
    env = {**os.environ, "DATA_DIR": str(data_dir),
           "DATABASE_URL": f"sqlite:///{data_dir / 'archive.sqlite3'}"}
    command = [sys.executable, "-m", "scrapy", "crawl", "vov", "-a", f"origin={origin}", *options]
    started, cpu_before = time.perf_counter(), cpu_seconds()
    child = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=peak_tree_rss, args=(psutil.Process(child.pid), stop, peak))
    sampler.start()
    _, log = child.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{name} crawl failed:\n{log[-3000:]}")
    used = [after - before for before, after in zip(cpu_before, cpu_seconds(), strict=True)]
    return Measure(name, pages_fetched(log), seconds, peak[0], used[0], used[1])


def cpu_seconds() -> tuple[float, float]:
    """(finished child processes and their descendants, this process) user + system CPU."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return children.ru_utime + children.ru_stime, own.ru_utime + own.ru_stime


def pages_fetched(log: str) -> int:
    """Responses received, from Scrapy's final stats dump."""
    for line in log.splitlines():
        if "'downloader/response_count':" in line:
            return int(line.split(":")[-1].strip(" ,"))
    raise SystemExit("no downloader/response_count in the crawl's stats")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    site = SampleSite(n_articles=args.articles)
    common = {"CONCURRENT_REQUESTS": str(args.concurrency),
              "CONCURRENT_REQUESTS_PER_DOMAIN": str(args.concurrency), "LOG_LEVEL": "INFO"}
    with serve(site) as origin, tempfile.TemporaryDirectory() as tmp:
        bare = run_crawl("bare Scrapy", origin, Path(tmp) / "bare",
                         {**common, "WARC_ENABLED": "False", "ITEM_PIPELINES": "{}"})
        full = run_crawl("full vov", origin, Path(tmp) / "full", common)
        with open_catalogue(f"sqlite:///{Path(tmp) / 'full' / 'archive.sqlite3'}")() as session:
            counts = repository.table_counts(session)
    print(f"sample site: {args.articles} articles, {os.cpu_count()} cores, "
          f"concurrency {args.concurrency}")
    print(f"{'crawl':<14}{'pages':>8}{'seconds':>10}{'pages/s':>10}{'peak RSS MiB':>14}"
          f"{'crawler CPU s':>15}{'server CPU s':>14}")
    for m in (bare, full):
        print(f"{m.name:<14}{m.pages:>8}{m.seconds:>10.1f}{m.rate:>10.1f}{m.peak_rss / 2**20:>14.0f}"
              f"{m.crawler_cpu:>15.1f}{m.server_cpu:>14.1f}")
    print(f"full / bare rate: {full.rate / bare.rate:.0%}; catalogue: {counts}")


if __name__ == "__main__":
    main()
