"""Deployed as a user deploys it: a real `scrapyd` on loopback, the project uploaded with the
real `scrapyd-deploy` (an egg: a zip file, so profiles and migrations must load from inside
it), then a crawl of the sample site scheduled through Scrapyd's JSON API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

from storage.catalogue.db import open_catalogue
from tests.catalogue_queries import latest_documents
from tests.crawl import FAST, PROJECT, check_archive
from tests.sample_site import SampleSite

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent  # the venv's scripts: scrapyd then runs jobs with its python
POLL = 0.2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(base: str, endpoint: str, params: list[tuple[str, str]] | None = None,
         *, post: bool = False) -> dict:
    """One call of Scrapyd's JSON API; a GET unless `post`."""
    query = urlencode(params or [])
    if post:
        response = urlopen(f"{base}/{endpoint}", data=query.encode(), timeout=30)
    else:
        response = urlopen(f"{base}/{endpoint}?{query}", timeout=30)
    with response:
        return json.load(response)


def wait_for(condition, what: str, deadline: float):  # type: ignore[no-untyped-def]
    """Poll `condition()` until it returns something true, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(POLL)
    pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    """A Scrapyd server of its own on a free loopback port, everything it keeps under
    tmp_path, its jobs' DATA_DIR tmp_path/data; yields its base URL."""
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = free_port()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nhttp_port = {port}\nbind_address = 127.0.0.1\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\nitems_dir =\n"
        f"dbs_dir = {home / 'dbs'}\nmax_proc = 2\npoll_interval = 0.2\n", encoding="utf-8")
    server = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, start_new_session=True,
                              env={**os.environ, "DATA_DIR": str(tmp_path / "data")},
                              stdout=(home / "scrapyd.out").open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(base, server, home), "Scrapyd to listen", 30)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its group: running jobs too
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _answers(base: str, server: subprocess.Popen, home: Path) -> bool:
    if server.poll() is not None:
        pytest.fail(f"scrapyd exited ({server.returncode}): "
                    + (home / "scrapyd.out").read_text(errors="replace")[-3000:])
    try:
        return call(base, "daemonstatus.json")["status"] == "ok"
    except (URLError, ConnectionError):
        return False


def git_status() -> list[str]:
    """The checkout's changed, new and ignored files (bytecode caches aside: Python's own)."""
    lines = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=PROJECT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    return [line for line in lines if "__pycache__" not in line]


def deploy(base: str, config_home: Path) -> dict:
    """`scrapyd-deploy <target>` run in the checkout, the target (this server) defined in the
    user's own scrapy.cfg ($XDG_CONFIG_HOME/scrapy.cfg), as a user would add one."""
    target = f"test-{base.rsplit(':', 1)[1]}"
    config_home.mkdir()
    (config_home / "scrapy.cfg").write_text(
        f"[deploy:{target}]\nurl = {base}/\nproject = vnarchive\n", encoding="utf-8")
    done = subprocess.run([str(BIN / "scrapyd-deploy"), target], cwd=PROJECT,
                          env={**os.environ, "XDG_CONFIG_HOME": str(config_home)},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def finished_job(base: str, job: str) -> dict | None:
    jobs = call(base, "listjobs.json", [("project", "vnarchive")])
    return next((j for j in jobs["finished"] if j["id"] == job), None)


def test_deployed_to_scrapyd_a_crawl_archives_and_extracts_the_site(
        scrapyd: str, base_url: str, site: SampleSite, tmp_path: Path) -> None:
    before = git_status()
    deployed = deploy(scrapyd, tmp_path / "config")
    assert git_status() == before, "scrapyd-deploy left files in the checkout"
    assert deployed["status"] == "ok" and deployed["spiders"] >= 1

    spiders = call(scrapyd, "listspiders.json", [("project", "vnarchive")])
    assert "vov" in spiders["spiders"], spiders

    data_dir = tmp_path / "data"  # scrapyd's environment says DATA_DIR; the catalogue by setting
    database_url = f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    settings = {**FAST, "DATABASE_URL": database_url}
    scheduled = call(scrapyd, "schedule.json", [
        ("project", "vnarchive"), ("spider", "vov"), ("origin", base_url),
        *(("setting", f"{name}={value}") for name, value in settings.items())], post=True)
    assert scheduled["status"] == "ok", scheduled

    job = wait_for(lambda: finished_job(scrapyd, scheduled["jobid"]), "the crawl to finish", 180)
    log = (tmp_path / "scrapyd" / "logs" / "vnarchive" / "vov" / f"{job['id']}.log").read_text()
    assert "'finish_reason': 'finished'" in log, log[-5000:]

    gold = site.gold_texts()
    with open_catalogue(database_url)() as session:
        documents = latest_documents(session)
    assert len(documents) == len(gold)
    texts = {(data_dir / "text" / d.text_path).read_text(encoding="utf-8") for d in documents}
    assert texts == set(gold.values())
    assert check_archive(data_dir, database_url) > len(gold)
