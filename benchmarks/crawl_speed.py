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

from storage.catalogue.db import open_catalogue
from tests.catalogue_queries import table_counts
from tests.crawl import FAST, PROJECT
from tests.sample_site import SampleSite, serve


@dataclass
class Measure:
    name: str
    pages: int
    seconds: float
    peak_rss: int
    crawl_cpu: float  # CPU seconds of the crawl process (reactor, archive thread)
    workers_cpu: float  # CPU seconds of its other processes (extraction workers)
    server_cpu: float  # CPU seconds of this process: the sample site's server

    @property
    def rate(self) -> float:
        return self.pages / self.seconds


class TreeSampler(threading.Thread):
    """Samples a process tree until stopped: peak summed RSS, and the CPU time of every
    process in it (extraction workers are the forkserver's children, which the crawl
    process never reaps, so getrusage would miss them)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.stopped = threading.Event()
        self.peak_rss = 0
        self.cpu: dict[int, float] = {}

    def run(self) -> None:
        while not self.stopped.is_set():
            rss = 0
            for process in self.tree():
                try:
                    times = process.cpu_times()
                    self.cpu[process.pid] = times.user + times.system
                    rss += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self.stopped.wait(0.05)

    def tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []


def run_crawl(name: str, origin: str, data_dir: Path, settings: dict[str, str]) -> Measure:
    options = [a for k, v in {**FAST, **settings}.items() for a in ("-s", f"{k}={v}")]
    env = {**os.environ, "DATA_DIR": str(data_dir),
           "DATABASE_URL": f"sqlite:///{data_dir / 'archive.sqlite3'}"}
    command = [sys.executable, "-m", "scrapy", "crawl", "vov", "-a", f"origin={origin}", *options]
    started, own_before = time.perf_counter(), own_cpu()
    child = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(child.pid)
    sampler.start()
    _, log = child.communicate()
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{name} crawl failed:\n{log[-3000:]}")
    crawl_cpu = sampler.cpu.pop(child.pid, 0.0)
    return Measure(name, pages_fetched(log), seconds, sampler.peak_rss, crawl_cpu,
                   sum(sampler.cpu.values()), own_cpu() - own_before)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
            counts = table_counts(session)
    print(f"sample site: {args.articles} articles, {os.cpu_count()} cores, "
          f"concurrency {args.concurrency}")
    print(f"{'crawl':<14}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'peak RSS MiB':>14}"
          f"{'CPU s: crawl':>14}{'workers':>9}{'server':>8}{'cores busy':>12}")
    for m in (bare, full):
        busy = (m.crawl_cpu + m.workers_cpu + m.server_cpu) / m.seconds
        print(f"{m.name:<14}{m.pages:>7}{m.seconds:>9.1f}{m.rate:>9.1f}{m.peak_rss / 2**20:>14.0f}"
              f"{m.crawl_cpu:>14.1f}{m.workers_cpu:>9.1f}{m.server_cpu:>8.1f}{busy:>12.2f}")
    print(f"full / bare rate: {full.rate / bare.rate:.0%}; catalogue: {counts}")


if __name__ == "__main__":
    main()
