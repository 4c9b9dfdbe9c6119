"""Several `scrapy crawl` workers share one crawl job through Redis (FRONTIER_URL), with one
PostgreSQL catalogue: each URL fetched once by one of them, every article's text filed once,
every worker's WARC files valid, and a worker killed mid-crawl costs nothing but the requests
it had in flight, which the others fetch once its leases expire."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy import func, select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun
from tests.catalogue_queries import latest_documents
from tests.conftest import REDIS_URL
from tests.crawl import PROJECT, check_archive, crawl, crawl_command, scrapy
from tests.sample_site import SampleSite, serve
from tests.test_crash_recovery import ARTICLE
from tests.test_end_to_end import RETRY_TIMES, path_of

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def start_worker(origin: str, data_dir: Path, database_url: str, namespace: str,
                 **settings: str) -> subprocess.Popen[str]:
    command, env = crawl_command(origin, data_dir, database_url, {
        "FRONTIER_NAMESPACE": namespace, "RETRY_TIMES": str(RETRY_TIMES), **settings})
    env["FRONTIER_URL"] = REDIS_URL
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(workers: list[subprocess.Popen[str]]) -> list[str]:
    logs = [worker.communicate(timeout=300)[0] for worker in workers]
    for worker, log in zip(workers, logs, strict=True):
        assert worker.returncode == 0, log[-4000:]
    return logs


def texts_by_path(data_dir: Path, database_url: str) -> dict[str, str]:
    with open_catalogue(database_url)() as session:
        return {path_of(d.url): (data_dir / "text" / d.text_path).read_text("utf-8")
                for d in latest_documents(session)}


def fetches(site: SampleSite) -> Counter[str]:
    return Counter(r.target for r in site.requests if r.method == "GET")


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_crawl_the_site_as_one_job(workers: int, tmp_path: Path, postgres_url: str,
                                           frontier_namespace: str) -> None:
    site = SampleSite(n_articles=30)
    with serve(site) as origin:
        logs = finish([start_worker(origin, tmp_path, postgres_url, frontier_namespace)
                       for _ in range(workers)])
    gold = site.gold_texts()
    assert texts_by_path(tmp_path, postgres_url) == gold
    assert len(list((tmp_path / "text").iterdir())) == len(gold), "one text per article"
    counts = fetches(site)
    assert counts.pop(site.special["server_error"]) == RETRY_TIMES + 1  # retried, by one worker
    assert counts.pop("/robots.txt") == 1, "robots.txt is fetched once per job"
    assert {path: n for path, n in counts.items() if n > 1} == {}, "fetched twice"
    check_archive(tmp_path, postgres_url)
    with open_catalogue(postgres_url)() as session:
        rows = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert len(rows) == workers and {row.status for row in rows} == {"finished"}
    assert len({row.job_id for row in rows}) == 1 and rows[0].job_id is not None
    leased = sum(row.stats.get("frontier/leased", 0) for row in rows)
    pushed = sum(row.stats.get("frontier/pushed", 0) for row in rows)
    assert leased == pushed > len(gold)
    assert sum(1 for log in logs if f"Job {rows[0].job_id} is over" in log) >= 1
    summary = scrapy("summary", "--run", str(rows[-1].id), data_dir=tmp_path,
                     database_url=postgres_url)
    assert f"job {rows[0].job_id} " in summary.stdout, summary.stdout + summary.stderr
    with open_catalogue(postgres_url)() as session:
        pages = session.scalar(select(func.count()).select_from(Capture))
    assert f"{workers} workers, {pages} pages fetched in all" in summary.stdout
    assert summary.stdout.count("    run ") == workers


def held_by(client: redis.StrictRedis, namespace: str, pid: int) -> int:
    """How many requests the worker of process `pid` holds under lease."""
    return sum(client.scard(key) for key in client.scan_iter(f"{namespace}:vov:job:*:held:*:{pid}:*"))


def test_a_worker_killed_mid_crawl_loses_nothing(tmp_path: Path, postgres_url: str,
                                                  frontier_namespace: str) -> None:
    site = SampleSite(n_articles=40)
    client = redis.StrictRedis.from_url(REDIS_URL)
    slow = {"DOWNLOAD_DELAY": "0.05", "CONCURRENT_REQUESTS_PER_DOMAIN": "2",
            "FRONTIER_LEASE": "3"}
    with serve(site) as origin:
        doomed = start_worker(origin, tmp_path, postgres_url, frontier_namespace, **slow)
        survivor = start_worker(origin, tmp_path, postgres_url, frontier_namespace, **slow)
        deadline = time.monotonic() + 120
        while not (held_by(client, frontier_namespace, doomed.pid) and
                   sum(1 for p in fetches(site) if ARTICLE.match(p)) >= 8 and
                   any(p.name.split(".")[0].endswith(f"-{doomed.pid}")
                       for p in (tmp_path / "warc").glob("*.open"))):
            assert time.monotonic() < deadline and doomed.poll() is None, "never got going"
            time.sleep(0.02)
        in_flight = held_by(client, frontier_namespace, doomed.pid)
        helpers = psutil.Process(doomed.pid).children(recursive=True)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait()
        psutil.wait_procs(helpers, timeout=30)
        [log] = finish([survivor])
        assert "requeued after their lease expired" in log
        stats = {k.decode(): int(v) for k, v in client.hgetall(
            f"{frontier_namespace}:vov:job:1:stats").items()}
        assert 1 <= stats["requeued"] and stats.get("dropped", 0) == 0
        counts = fetches(site)
        twice = {p for p, n in counts.items() if n > 1 and p not in
                 ("/robots.txt", site.special["server_error"])}
        assert len(twice) <= stats["requeued"] <= in_flight + 8, twice  # the dead worker's only
        # the next worker (of a new job) repairs what the dead one left open, and says it died
        again = crawl(origin, tmp_path, postgres_url, {"FRONTIER_NAMESPACE": frontier_namespace,
                                                       "FRONTIER_URL": REDIS_URL})
        assert again.returncode == 0 and "Repaired " in again.log, again.log[-3000:]
    assert texts_by_path(tmp_path, postgres_url) == site.gold_texts()
    check_archive(tmp_path, postgres_url)
    with open_catalogue(postgres_url)() as session:
        rows = session.execute(select(CrawlRun.pid, CrawlRun.status, CrawlRun.job_id)
                               .order_by(CrawlRun.id)).all()
    assert [(status, job) for pid, status, job in rows if pid == doomed.pid] == [("killed", 1)]
    assert [status for _, status, _ in rows].count("finished") == 2 and rows[-1].job_id == 2
