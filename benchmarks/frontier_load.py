"""Load test of the shared frontier alone (storage.redisqueue.frontier on the machine's Redis): how
many URLs a second go through push, lease and acknowledge, and Redis memory per queued URL.

No crawl, no catalogue: the Redis side of what crawl workers do, at their batch sizes. Entries
are what the scheduler queues for a vov.vn article found in a monthly sitemap (the codec's
bytes; about 160 bytes each), each URL distinct.

  1. push: `--pushers` processes push `--urls` URLs in batches of 200 (the scheduler's);
     Redis memory is read before and after: bytes per queued URL (seen-set entry included).
  2. lease and acknowledge: `--workers` processes lease 8 at a time (FRONTIER_LEASE_BATCH)
     and acknowledge each batch, until the queue is empty.
  3. the job's end is asked once (it deletes the seen-set and queues).
Prints URLs/s of each phase and of the whole, and the Redis server's CPU seconds (INFO).
Target on a 2-core machine: at least 2,000 URLs/s through push, lease and acknowledge, and
under 300 bytes of Redis memory per queued URL.

    .venv/bin/python -m benchmarks.frontier_load [--urls 1000000] [--workers 4] [--pushers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
import uuid
from collections.abc import Callable

import redis

from crawler.frontier.codec import _When, packed
from storage.redisqueue.frontier import SharedFrontier

REDIS_URL = "redis://127.0.0.1:6379/0"
PUSH_BATCH = 200
LEASE_BATCH = 8
SITEMAP = "https://vov.vn/sitemap/articles/2026-11.xml"


def article_entry(i: int) -> bytes:
    url = (f"https://vov.vn/the-gioi/quan-sat/tong-thong-tuyen-bo-ve-thoa-thuan-thuong-mai-moi-"
           f"{i}-post{1_000_000 + i}.vov")
    meta = {"kind": "article", "lastmod": _When(1_764_500_000.0 + i), "listed_in": SITEMAP,
            "reason": "new"}
    return packed(url, "parse_article", "fetch_failed", 0, meta, None, None, None, None, None)


def frontier(namespace: str, worker: str) -> SharedFrontier:
    joined = SharedFrontier.connect(REDIS_URL, "load", namespace=namespace)
    joined.join(worker)
    return joined


def push(namespace: str, start: int, stop: int) -> None:
    pusher = frontier(namespace, f"pusher-{start}")
    for first in range(start, stop, PUSH_BATCH):
        pusher.push((0, article_entry(i)) for i in range(first, min(first + PUSH_BATCH, stop)))
    pusher.idle()


def lease_and_acknowledge(namespace: str, index: int) -> None:
    worker = frontier(namespace, f"worker-{index}")
    while batch := worker.lease(LEASE_BATCH):
        worker.acknowledge([entry[:12] for entry in batch])
    worker.idle()


def in_processes(target: Callable[..., None], arguments: list[tuple[object, ...]]) -> float:
    processes = [multiprocessing.Process(target=target, args=args) for args in arguments]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        assert process.exitcode == 0, f"{target.__name__} failed"
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--urls", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pushers", type=int, default=2)
    options = parser.parse_args()
    client = redis.StrictRedis.from_url(REDIS_URL)
    namespace = f"vnarchive-load-{uuid.uuid4().hex[:8]}"
    n = options.urls

    def redis_state() -> tuple[int, float]:
        memory, cpu = client.info("memory"), client.info("cpu")
        return int(memory["used_memory"]), float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])

    owner = frontier(namespace, "owner")  # keeps the job open until the end
    memory_before, cpu_before = redis_state()
    shares = [(namespace, n * i // options.pushers, n * (i + 1) // options.pushers)
              for i in range(options.pushers)]
    push_seconds = in_processes(push, shares)
    memory_queued, cpu_pushed = redis_state()
    queued = owner.stats().queued
    assert queued == n, f"{queued} queued of {n}"
    lease_seconds = in_processes(lease_and_acknowledge,
                                 [(namespace, i) for i in range(options.workers)])
    _, cpu_done = redis_state()
    stats = owner.stats()
    owner.idle()
    assert owner.finished(), "the job did not end"
    assert (stats.leased, stats.acked, stats.leases) == (n, n, 0), stats
    total = push_seconds + lease_seconds
    per_url = (memory_queued - memory_before) / n
    print(f"Shared frontier load test: {n:,} URLs, {options.pushers} pushers (batches of "
          f"{PUSH_BATCH}), {options.workers} workers (leases of {LEASE_BATCH}, acknowledged per batch)")
    print(f"  push                     {n / push_seconds:>10,.0f} URLs/s  ({push_seconds:.1f} s, "
          f"Redis CPU {cpu_pushed - cpu_before:.1f} s)")
    print(f"  lease + acknowledge      {n / lease_seconds:>10,.0f} URLs/s  ({lease_seconds:.1f} s, "
          f"Redis CPU {cpu_done - cpu_pushed:.1f} s)")
    print(f"  push, lease, acknowledge {n / total:>10,.0f} URLs/s  (target >= 2,000)")
    print(f"  Redis memory per queued URL {per_url:,.0f} bytes  (target < 300; "
          f"entry {len(article_entry(n // 2))} bytes, seen-set and list overhead the rest)")
    print(f"  Redis memory after the job's end: {redis_state()[0] - memory_before:+,} bytes")
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)


if __name__ == "__main__":
    main()
