"""Benchmark: the full `vov` crawl job beside bare Scrapy and a naive in-process pipeline.

For each site size, a VOV-style sample site is pre-rendered to files and served by nginx
(benchmarks.static_site: one worker, gzip from pre-compressed files, its CPU measured; the
sample site's own server in a process of its own when nginx is missing), and crawled by:
  bare   plain Scrapy, fetch and follow only (benchmarks.naive_pipeline --mode bare)
  naive  plain Scrapy writing gzipped WARC records and running trafilatura in its callbacks,
         one process, no catalogue (benchmarks.naive_pipeline --mode naive)
  full   `scrapy crawl vov -a origin=...`: WARC files, the catalogue, extraction in workers
  again  the full job once more with nothing changed (an incremental run)
each a fresh process in a fresh data folder (but `again`), politeness lifted alike
(DOWNLOAD_DELAY=0, no AutoThrottle, --concurrency requests at once, to the one host).
Each crawl's process tree is sampled (psutil, every 0.2 s: extraction workers are the
forkserver's children, the archive process the crawl's) and the server's access log read.
It prints, per size: pages the server answered, article pages, pages/s, CPU ms per page of
the crawl process, of its other processes and of the server, cores busy, peak RSS of the
tree and of the crawl process, and seconds from launch to the first request, and the cores
the rest of the machine kept busy meanwhile ("other load": on a shared machine, figures with
a high one are not comparable); then the ratios the targets speak of.

    .venv/bin/python -m benchmarks.crawl_speed [--articles 2000 20000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.static_site import LogLine, Server, serve_static
from crawler.profiles import SiteProfile
from storage.catalogue.db import open_catalogue
from tests.catalogue_queries import table_counts
from tests.crawl import PROJECT, crawl_command
from tests.sample_site import SampleSite
from tests.sample_site.content import CATEGORIES

PROFILE = SiteProfile.load(PROJECT / "settings" / "sites" / "vov.toml")
SAMPLE_EVERY = 0.2  # listing a process tree reads all of /proc: oftener, the sampler loads the machine
MIB = 2**20


# ----------------------------------------------------------------------------- measuring

class TreeSampler(threading.Thread):
    """Samples a process tree until stopped: peak summed RSS (and the root's own), and the
    CPU time of every process in it (extraction workers are the forkserver's children, which
    the crawl process never reaps, so its getrusage would miss them)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.stopped = threading.Event()
        self.peak_rss = self.peak_root_rss = 0
        self.cpu: dict[int, float] = {}

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            self.stopped.wait(SAMPLE_EVERY)

    def sample(self) -> None:
        rss = 0
        for process in self.tree():
            try:
                times = process.cpu_times()
                self.cpu[process.pid] = times.user + times.system
                size = process.memory_info().rss
            except psutil.Error:  # gone, or a zombie (its CPU was read, it holds no memory)
                continue
            rss += size
            if process.pid == self.root.pid:
                self.peak_root_rss = max(self.peak_root_rss, size)
        self.peak_rss = max(self.peak_rss, rss)

    def tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return [self.root]


@dataclass
class Crawl:
    """One measured crawl."""

    name: str
    seconds: float
    answered: list[LogLine]  # what the server answered, in order
    articles: int  # article pages answered with 200
    crawl_cpu: float  # CPU s of the crawl process (reactor, archive thread)
    others_cpu: float  # CPU s of its other processes (extraction workers, forkserver)
    server_cpu: float  # CPU s of the server's processes meanwhile
    other_cpu: float  # CPU s of everything else on the machine meanwhile (a shared machine)
    peak_rss: int  # of the whole process tree
    peak_crawl_rss: int  # of the crawl process alone
    startup: float  # seconds from launch to the first request the server saw
    scrapy_responses: int  # Scrapy's own count, to check the server's log against

    @property
    def pages(self) -> int:
        return len(self.answered)

    @property
    def rate(self) -> float:
        return self.pages / self.seconds

    @property
    def article_rate(self) -> float:
        return self.articles / self.seconds

    def per_page(self, cpu: float) -> float:
        """CPU milliseconds per page answered."""
        return 1000 * cpu / max(self.pages, 1)

    @property
    def cores_busy(self) -> float:
        return (self.crawl_cpu + self.others_cpu) / self.seconds

    @property
    def other_cores(self) -> float:
        return self.other_cpu / self.seconds


def server_cpu(server: Server) -> float:
    total = 0.0
    for process in server.processes():
        times = process.cpu_times()
        total += times.user + times.system
    return total


def machine_busy_cpu() -> float:
    """CPU seconds every core of the machine spent busy since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def measure(name: str, command: list[str], env: dict[str, str], server: Server,
            log_file: Path) -> Crawl:
    """Run one crawl to its end, sampling its process tree and the server."""
    mark, server_before, machine_before = server.mark(), server_cpu(server), machine_busy_cpu()
    launched, started = time.time(), time.perf_counter()
    with log_file.open("w") as log:
        child = subprocess.Popen(command, cwd=PROJECT, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=log)
    sampler = TreeSampler(child.pid)
    sampler.start()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: CPU readable
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    sampler.sample()  # the zombie's final CPU time
    child.wait()
    machine = machine_busy_cpu() - machine_before
    text = log_file.read_text(errors="replace")
    if child.returncode != 0:
        raise SystemExit(f"{name} crawl failed ({child.returncode}):\n{text[-3000:]}")
    answered = server.requests(since=mark)
    crawl_cpu = sampler.cpu.pop(child.pid, 0.0)
    others_cpu, server_used = sum(sampler.cpu.values()), server_cpu(server) - server_before
    return Crawl(
        name=name, seconds=seconds, answered=answered,
        articles=sum(1 for line in answered if line.status == 200 and PROFILE.is_article(line.target)),
        crawl_cpu=crawl_cpu, others_cpu=others_cpu, server_cpu=server_used,
        other_cpu=max(0.0, machine - crawl_cpu - others_cpu - server_used),
        peak_rss=sampler.peak_rss, peak_crawl_rss=sampler.peak_root_rss,
        startup=(answered[0].at - launched) if answered else float("nan"),
        scrapy_responses=scrapy_stat(text, "downloader/response_count"))


def scrapy_stat(log: str, name: str) -> int:
    """A count from Scrapy's final stats dump (0 when absent)."""
    for line in log.splitlines():
        if f"'{name}':" in line:
            return int(line.split(":")[-1].strip(" ,}"))
    return 0


# ----------------------------------------------------------------------------- crawls

@dataclass
class SizeResult:
    articles: int  # the site's articles with gold text
    server: str
    crawls: list[Crawl]
    naive_texts: int
    full_documents: int
    gold_fetched: dict[str, int]  # crawl -> gold article pages it fetched

    def crawl(self, name: str) -> Crawl:
        return next(c for c in self.crawls if c.name == name)


def naive_command(mode: str, origin: str, out: Path, concurrency: int,
                  max_pages: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.naive_pipeline", "--mode", mode, "--origin", origin,
            "--out", str(out), "--concurrency", str(concurrency), "--max-pages", str(max_pages)]


def run_size(n_articles: int, concurrency: int, work: Path) -> SizeResult:
    site = SampleSite(n_articles=n_articles)
    gold = set(site.gold_texts())
    # every listing page is read (the profile stops at 50): all articles are reachable
    max_pages = max(site.catalog.page_count(category) for category in CATEGORIES)
    full_settings = {"CONCURRENT_REQUESTS": str(concurrency),
                     "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
                     "DISCOVERY_MAX_LISTING_PAGES": str(max_pages), "LOG_LEVEL": "INFO"}
    env = dict(os.environ)
    with serve_static(site, work / "server") as server:
        crawls = [measure(mode, naive_command(mode, server.origin, work / mode, concurrency,
                                              max_pages), env, server, work / f"{mode}.log")
                  for mode in ("bare", "naive")]
        full_command, full_env = crawl_command(server.origin, work / "full", settings=full_settings)
        for name in ("full", "again"):
            crawls.append(measure(name, full_command, full_env, server, work / f"{name}.log"))
        description = server.description
    with open_catalogue(full_env["DATABASE_URL"])() as session:
        documents = table_counts(session)["documents"]
    fetched = {c.name: len(gold & {line.target for line in c.answered if line.status == 200})
               for c in crawls}
    return SizeResult(n_articles, description, crawls,
                      naive_texts=len(list((work / "naive" / "text").iterdir())),
                      full_documents=documents, gold_fetched=fetched)


# ----------------------------------------------------------------------------- printing

def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown CPU")
    memory = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({model}), {memory:.0f} GiB, Python {platform.python_version()}"


def print_size(result: SizeResult, concurrency: int) -> None:
    print(f"\nsample site: {result.articles} articles (+1 oversized article, 4 stubs); "
          f"concurrency {concurrency}; server: {result.server}")
    print(f"{'crawl':<7}{'pages':>7}{'articles':>9}{'seconds':>9}{'pages/s':>9}{'art/s':>8}"
          f"{'CPU ms/page: crawl':>20}{'others':>8}{'server':>8}{'cores busy':>12}"
          f"{'peak RSS MiB: tree':>20}{'crawl':>7}{'start s':>9}{'other load':>12}")
    for c in result.crawls:
        print(f"{c.name:<7}{c.pages:>7}{c.articles:>9}{c.seconds:>9.1f}{c.rate:>9.1f}"
              f"{c.article_rate:>8.1f}{c.per_page(c.crawl_cpu):>20.2f}{c.per_page(c.others_cpu):>8.2f}"
              f"{c.per_page(c.server_cpu):>8.2f}{c.cores_busy:>12.2f}{c.peak_rss / MIB:>20.0f}"
              f"{c.peak_crawl_rss / MIB:>7.0f}{c.startup:>9.2f}{c.other_cores:>12.2f}")
    gold = result.articles + 1
    print("gold articles fetched: " + ", ".join(f"{name} {n}/{gold}"
                                                for name, n in result.gold_fetched.items()))
    print(f"texts: naive {result.naive_texts} files, full {result.full_documents} catalogue "
          f"documents (gold {gold})")
    for c in result.crawls:
        if c.scrapy_responses != c.pages:
            print(f"note: {c.name}: Scrapy counted {c.scrapy_responses} responses, "
                  f"the server answered {c.pages} requests")
    busiest = max(result.crawls[:3], key=lambda c: c.server_cpu / c.seconds)
    print(f"server CPU: at most {busiest.server_cpu / busiest.seconds:.0%} of a core "
          f"(during {busiest.name})")


def print_ratios(results: list[SizeResult]) -> None:
    print("\nratios (targets from the issue in brackets)")
    for result in results:
        bare, naive, full, again = (result.crawl(n) for n in ("bare", "naive", "full", "again"))
        print(f"{result.articles} articles: full/naive article pages/s "
              f"{full.article_rate / naive.article_rate:.2f}x [>= 2.5]; full/bare crawl-process "
              f"CPU per page {full.per_page(full.crawl_cpu) / bare.per_page(bare.crawl_cpu):.2f}x "
              f"[<= 1.5]; no-change run: {again.pages / full.pages:.2%} of the first run's "
              f"requests [< 1%], first request {again.startup:.2f} s after launch [< 2 s at 20,000]")
    if len(results) > 1:
        first, last = results[0], results[-1]
        for name in ("bare", "naive", "full"):
            before, after = first.crawl(name), last.crawl(name)
            print(f"{name}: peak RSS {first.articles} -> {last.articles} articles: tree "
                  f"{before.peak_rss / MIB:.0f} -> {after.peak_rss / MIB:.0f} MiB "
                  f"({after.peak_rss / before.peak_rss - 1:+.0%}), crawl process "
                  f"{before.peak_crawl_rss / MIB:.0f} -> {after.peak_crawl_rss / MIB:.0f} MiB "
                  f"({after.peak_crawl_rss / before.peak_crawl_rss - 1:+.0%})"
                  + (" [tree < +15%]" if name == "full" else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[2000],
                        help="site sizes, each measured in turn (e.g. 2000 20000)")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results = []
    for n_articles in args.articles:
        with tempfile.TemporaryDirectory(prefix="crawl-speed-") as tmp:
            results.append(run_size(n_articles, args.concurrency, Path(tmp)))
        print_size(results[-1], args.concurrency)
    print_ratios(results)


if __name__ == "__main__":
    main()
