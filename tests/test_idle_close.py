"""A crawl closes as soon as it has nothing left to do, never on Scrapy's heartbeat.

Scrapy's engine looks for work when a download or a scrape ends, and otherwise only on its
heartbeat (every 5 s). A spider_idle handler that raises DontCloseSpider and then schedules
nothing (the recrawl middleware deciding, at idle, the sitemaps robots.txt named, all of them
current in a no-change run) left the crawl waiting for that heartbeat: a no-change run of a
site took 6 s, 5 of them idle. Here the heartbeat is an hour: a crawl that needs it hangs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.crawl import PROJECT, crawl_command
from tests.sample_site import SampleSite

pytestmark = pytest.mark.slow

WITHOUT_HEARTBEAT = ("from scrapy.core.engine import ExecutionEngine\n"
                     "ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = 3600.0\n"
                     "from scrapy.cmdline import execute\n"
                     "execute()\n")


def crawl_without_heartbeat(origin: str, data_dir: Path, database_url: str | None = None,
                            **shared: str) -> subprocess.CompletedProcess[str]:
    """`shared`: FRONTIER_URL and FRONTIER_NAMESPACE, for a worker of a shared job."""
    command, env = crawl_command(origin, data_dir, database_url,
                                 {"FRONTIER_NAMESPACE": shared["FRONTIER_NAMESPACE"]} if shared else None)
    env.update({"FRONTIER_URL": shared["FRONTIER_URL"]} if shared else {})
    assert command[1:3] == ["-m", "scrapy"]
    command[1:3] = ["-c", WITHOUT_HEARTBEAT]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def test_first_and_no_change_runs_close_without_the_heartbeat(
        site: SampleSite, base_url: str, tmp_path: Path) -> None:
    for run in ("first", "no change"):
        site.clear_requests()
        try:
            done = crawl_without_heartbeat(base_url, tmp_path / "data")
        except subprocess.TimeoutExpired as timeout:
            pytest.fail(f"the {run} run waited for the engine's heartbeat: {timeout}")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Closing spider (finished)" in done.stderr
    assert "/sitemap.xml" in {request.target for request in site.requests}  # held until idle


@pytest.mark.postgres
def test_a_worker_of_a_shared_job_closes_without_the_heartbeat(
        site: SampleSite, base_url: str, tmp_path: Path, postgres_url: str,
        frontier_namespace: str) -> None:
    """Its requests wait for their remember to commit before they reach Redis, and come back
    from there: pushed while the engine had nothing else to do, they must wake it."""
    for run in ("first", "no change"):
        try:
            done = crawl_without_heartbeat(base_url, tmp_path / "data", postgres_url,
                                           FRONTIER_URL=REDIS_URL,
                                           FRONTIER_NAMESPACE=frontier_namespace)
        except subprocess.TimeoutExpired as timeout:
            pytest.fail(f"the {run} run waited for the engine's heartbeat: {timeout}")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Closing spider (finished)" in done.stderr
