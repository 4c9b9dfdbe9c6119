"""Extraction workers that die or hang: the page that kills or hangs one is retried once,
alone, then recorded `worker_crashed` or `timeout`, and the run files every other page
(reextract and the crawl alike); and killing the crawl itself leaves no extraction process
behind."""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from crawler.extraction.workers import WorkerPool
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Document, ExtractionFailure, FrontierEntry
from tests.archived import Page, archive_pages
from tests.crawl import crawl, scrapy, start_crawl
from tests.sample_site import SampleSite, serve
from tests.test_reextract import report_counts

pytestmark = pytest.mark.slow

# Test-only, and outside the project: Python imports `sitecustomize` at start-up in every
# process, the forkserver included, so every extraction worker gets this wrapper, which
# on a page holding the marker kills its own process (SIGKILL, as the OOM killer would) or
# hangs in a regex that backtracks for ever, holding the GIL as a real one would.
SABOTEUR = """
import multiprocessing, os, re, signal

import crawler.extraction.article

_kill_on = os.environ.get("KILL_WORKER_ON", "").encode()
_hang_on = os.environ.get("HANG_WORKER_ON", "").encode()
_extract_article = crawler.extraction.article.extract_article


def extract_article(body, **options):
    if multiprocessing.parent_process() is not None:
        if _kill_on and _kill_on in body:
            os.kill(os.getpid(), signal.SIGKILL)
        if _hang_on and _hang_on in body:
            if os.environ.get("HUNG_PID_FILE"):
                with open(os.environ["HUNG_PID_FILE"], "w") as pid_file:
                    pid_file.write(str(os.getpid()))
            re.match(r"(a+)+$", "a" * 64 + "b")
    return _extract_article(body, **options)


crawler.extraction.article.extract_article = extract_article
"""


@pytest.fixture
def sabotaged_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Processes started from here on kill their extraction worker on a page holding the value
    of KILL_WORKER_ON, and hang it on one holding HANG_WORKER_ON, writing its pid to
    HUNG_PID_FILE if set (set them with monkeypatch)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SABOTEUR, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])))
    yield


def canonical(url: str) -> str:
    return f'rel="canonical" href="{url}"'


def archived_articles(tmp_path: Path) -> tuple[list[Page], str]:
    """The sample site's 40 articles, archived (two tasks of 32 captures at most: two workers),
    and the DATABASE_URL."""
    site = SampleSite(n_articles=40)
    pages = [Page("https://vov.vn" + path, site.respond(path, "https://vov.vn").body)
             for path in site.gold_texts()]
    return pages, archive_pages(tmp_path, pages)


def failures_and_documents(database_url: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(url, reason, detail) of each extraction failure, and the URL of each document."""
    with open_catalogue(database_url)() as session:
        failures = session.execute(select(ExtractionFailure.url, ExtractionFailure.reason,
                                          ExtractionFailure.detail)).all()
        documents = session.scalars(select(Document.url)).all()
    return [(row.url, row.reason, row.detail) for row in failures], list(documents)


def test_reextract_records_the_page_that_kills_its_worker_and_files_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sabotaged_worker: None) -> None:
    pages, database_url = archived_articles(tmp_path)
    killer = pages[2].url
    monkeypatch.setenv("KILL_WORKER_ON", canonical(killer))

    for run in (1, 2):  # and a rerun does not die on it either
        done = scrapy("reextract", "--workers", "2", data_dir=tmp_path, database_url=database_url)
        assert done.returncode == 0, done.stdout + done.stderr
        counts = report_counts(done.stdout)
        assert counts["failed"] == 1 and "worker_crashed: 1" in done.stdout, done.stdout
        assert counts["new" if run == 1 else "unchanged"] == len(pages) - 1, done.stdout
        assert counts["worker restarts"] >= 2, done.stdout  # the pool, then the quarantine
    failures, documents = failures_and_documents(database_url)
    assert [(url, reason) for url, reason, _ in failures] == [(killer, "worker_crashed")]  # once
    assert sorted(documents) == sorted(page.url for page in pages if page.url != killer)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_reextract_records_the_page_that_hangs_its_worker_and_ends(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sabotaged_worker: None,
        workers: str) -> None:
    pages, database_url = archived_articles(tmp_path)
    hanger = pages[5].url
    monkeypatch.setenv("HANG_WORKER_ON", canonical(hanger))

    done = scrapy("reextract", "--workers", workers, "-s", "EXTRACT_TIMEOUT=2", data_dir=tmp_path,
                  database_url=database_url, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    counts = report_counts(done.stdout)
    assert counts["failed"] == 1 and "timeout: 1" in done.stdout, done.stdout
    assert counts["new"] == len(pages) - 1, done.stdout
    assert counts["timeouts"] == 2 and counts["worker restarts"] == 2, done.stdout
    failures, documents = failures_and_documents(database_url)
    [(url, reason, detail)] = failures
    assert (url, reason) == (hanger, "timeout") and "2 s (EXTRACT_TIMEOUT)" in detail
    assert sorted(documents) == sorted(page.url for page in pages if page.url != hanger)


@pytest.mark.parametrize(("sabotage", "reason", "settings"), [
    ("KILL_WORKER_ON", "worker_crashed", {}),
    ("HANG_WORKER_ON", "timeout", {"EXTRACT_TIMEOUT": "2"}),
])
def test_the_crawl_records_the_page_that_kills_or_hangs_its_worker_as_processed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sabotaged_worker: None,
        sabotage: str, reason: str, settings: dict[str, str]) -> None:
    site = SampleSite(n_articles=12)
    page = sorted(site.gold_texts())[3]
    with serve(site) as origin:
        monkeypatch.setenv(sabotage, canonical(origin + page))
        done = crawl(origin, tmp_path, settings={"EXTRACT_WORKERS": "2", **settings})
    assert done.returncode == 0, done.log[-3000:]  # ended: a hung page does not hold it
    assert f"'extract/failed/{reason}': 1" in done.log
    assert "'extract/worker_restarts': " in done.log
    assert ("'extract/timeouts': 2" in done.log) == (reason == "timeout")
    failures, documents = failures_and_documents(done.database_url)
    with open_catalogue(done.database_url)() as session:
        page_done = session.scalar(select(FrontierEntry.done_at).where(
            FrontierEntry.url == origin + page))
    assert (origin + page, reason) in [(url, why) for url, why, _ in failures]
    assert len(documents) == len(site.gold_texts()) - 1
    assert page_done is not None  # recorded, with its reason: later runs are not blocked


def hang_on_a_file_name(item: str) -> str:
    """In a worker: hang (holding the GIL) on an item naming a file, once its pid is there."""
    if item.startswith("/"):
        Path(item).write_text(str(os.getpid()), encoding="utf-8")
        re.match(r"(a+)+$", "a" * 64 + "b")
    return item


def failure_text(_item: str, reason: str, detail: str) -> str:
    return f"{reason}: {detail}"


def no_setup() -> None:
    pass


def test_shutting_down_never_waits_on_a_hung_worker(tmp_path: Path) -> None:
    pid_file = tmp_path / "hung.pid"
    pool = WorkerPool(hang_on_a_file_name, failure_text, 1, timeout=0, initializer=no_setup)
    work = pool.submit(["first", str(pid_file)])
    assert wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60), "no worker started"
    worker = psutil.Process(int(pid_file.read_text()))

    stopping = threading.Thread(target=pool.shutdown, daemon=True)
    stopping.start()
    stopping.join(timeout=30)
    assert not stopping.is_alive(), "shutdown waited on the hung worker"
    with pytest.raises(RuntimeError, match="shut down"):
        work.result(timeout=5)
    assert wait_for(lambda: not _alive(worker), 30), "the hung worker was left running"


def hold_articles_after(site: SampleSite, count: int, release: threading.Event) -> None:
    """Articles after the first `count` are answered only once `release` is set: the crawl
    stays alive, with extraction workers, for as long as the test needs."""
    served, respond = [0], site.respond

    def holding(target: str, base: str):  # type: ignore[no-untyped-def]
        if target.endswith(".vov") and "-post" in target:
            served[0] += 1
            if served[0] > count:
                release.wait(timeout=120)
        return respond(target, base)

    site.respond = holding  # type: ignore[method-assign]


def wait_for(condition, timeout: float):  # type: ignore[no-untyped-def]
    """Poll `condition` until it returns something true, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling with a deadline, not synchronisation by sleeping
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="process trees as Linux shows them")
@pytest.mark.parametrize("worker", ["waiting", "hung"])
def test_killing_the_crawl_leaves_no_extraction_process_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sabotaged_worker: None,
        worker: str) -> None:
    site, release = SampleSite(n_articles=20), threading.Event()
    hung_pid = tmp_path / "hung.pid"
    if worker == "waiting":
        hold_articles_after(site, 4, release)
    descendants: list[psutil.Process] = []
    with serve(site) as origin:
        if worker == "hung":  # in the GIL, with no deadline to end it: only its death signal can
            monkeypatch.setenv("HANG_WORKER_ON", canonical(origin + sorted(site.gold_texts())[0]))
            monkeypatch.setenv("HUNG_PID_FILE", str(hung_pid))
        process = start_crawl(origin, tmp_path,
                              settings={"EXTRACT_WORKERS": "2", "EXTRACT_TIMEOUT": "0"})
        crawler = psutil.Process(process.pid)
        try:
            def workers_running() -> list[psutil.Process]:
                tree = crawler.children(recursive=True)
                forkserver = [p for p in tree if "forkserver" in _command(p)]
                ready = len(forkserver) >= 2 and (worker == "waiting" or hung_pid.exists())
                return tree if ready else []  # the server and a worker at least

            descendants = wait_for(workers_running, 120)
            assert descendants, "no extraction worker started"
            os.kill(process.pid, signal.SIGKILL)  # the crawl process only, not its group
            process.wait()
            wait_for(lambda: not any(_alive(p) for p in descendants), 30)
            survivors = [_command(p)[:80] for p in descendants if _alive(p)]
            assert not survivors, f"{len(survivors)} of {len(descendants)} processes outlived " \
                                  f"the crawl: {survivors}"
        finally:
            release.set()
            for leftover in descendants:
                if _alive(leftover):
                    leftover.kill()


def _command(process: psutil.Process) -> str:
    """Its command line; "" for one that exited meanwhile (a tree listed is already old)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
