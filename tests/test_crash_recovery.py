"""A crawl killed with SIGKILL halfway loses nothing: run again, it ends with the same
archived articles and texts as an uninterrupted crawl, no page stored twice other than
as a revisit, every WARC file valid, and the dead run's lock taken over."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun
from tests.catalogue_queries import latest_documents
from tests.crawl import check_archive, crawl, start_crawl
from tests.sample_site import SampleSite, serve

pytestmark = pytest.mark.slow
ARTICLE = re.compile(r"^/[a-z0-9-]+/[a-z0-9-]+-post\d+\.vov$")


def after_articles(site: SampleSite, count: int | str) -> threading.Event:
    """An event set once the site has answered `count` article requests, or the request
    for the path `count` (then the crawl dies before it could file what it got)."""
    reached, served, respond = threading.Event(), [0], site.respond

    def counting(target: str, base: str):  # type: ignore[no-untyped-def]
        response = respond(target, base)
        if ARTICLE.match(target):
            served[0] += 1
            if served[0] == count if isinstance(count, int) else target == count:
                reached.set()
        return response

    site.respond = counting  # type: ignore[method-assign]
    return reached


def texts_by_path(data_dir: Path, origin: str) -> dict[str, str]:
    with open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")() as session:
        return {d.url.removeprefix(origin): (data_dir / "text" / d.text_path).read_text("utf-8")
                for d in latest_documents(session)}


@pytest.mark.parametrize(("kill_after", "settings", "group"), [
    (3, {}, True), (12, {}, True), (30, {}, True), ("redirect target", {}, True),
    # whatever the settings: fetching everything whole must not skip what a dead run left
    (12, {"RECRAWL_ENABLED": "False"}, True),
    # the crawl process alone: its archive process and extraction workers die with it
    (12, {}, False),
], ids=["3", "12", "30", "redirect-target", "12-recrawl-off", "12-crawl-process-alone"])
def test_a_killed_crawl_run_again_ends_as_an_uninterrupted_one(
        kill_after: int | str, settings: dict[str, str], group: bool,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    site = SampleSite(n_articles=40)
    uninterrupted, killed = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("killed")
    with serve(site) as origin:
        reference = crawl(origin, uninterrupted)
        assert reference.returncode == 0, reference.log[-3000:]

        reached = after_articles(site, site.redirect_target if kill_after == "redirect target"
                                 else kill_after)
        process = start_crawl(origin, killed, settings=settings)
        assert reached.wait(timeout=120), "the crawl never got going"
        helpers = psutil.Process(process.pid).children(recursive=True)
        assert helpers, "the archive process and the extraction workers are the crawl's"
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        _, alive = psutil.wait_procs(helpers, timeout=30)
        assert not alive, f"outlived the crawl: {[p.cmdline()[-1:] for p in alive]}"
        assert list((killed / "warc").glob("*.open")), "killed mid-file, as intended"

        again = crawl(origin, killed, settings=settings)
        assert again.returncode == 0, again.log[-3000:]
        assert "Took over the stale lock" in again.log and "Repaired " in again.log

    assert texts_by_path(killed, origin) == texts_by_path(uninterrupted, origin)
    database_url = f"sqlite:///{killed / 'archive.sqlite3'}"
    with open_catalogue(database_url)() as session:
        full = session.execute(select(Capture.url).where(
            Capture.warc_type == "response", Capture.status == 200)).scalars().all()
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert len(full) == len(set(full)), "a page was stored twice, not as a revisit"
    assert [run.status for run in runs] == ["killed", "finished"]
    check_archive(killed, database_url)


def test_an_archive_process_killed_mid_crawl_stops_the_crawl_and_loses_nothing(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The writer dies (the OOM killer, a crash in a driver): the crawl stops at once with a
    failing exit status instead of fetching what cannot be kept or waiting for ever, and the
    next run repairs its file and ends as an uninterrupted crawl."""
    import subprocess

    from tests.crawl import PROJECT, crawl_command

    site = SampleSite(n_articles=40)
    uninterrupted, broken = tmp_path_factory.mktemp("whole"), tmp_path_factory.mktemp("broken")
    with serve(site) as origin:
        assert crawl(origin, uninterrupted).returncode == 0
        reached = after_articles(site, 12)
        command, env = crawl_command(origin, broken)
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        assert reached.wait(timeout=120), "the crawl never got going"
        [writer] = [p for p in psutil.Process(process.pid).children(recursive=True)
                    if "crawler.archiveprocess" in p.cmdline()]
        writer.kill()
        _, log = process.communicate(timeout=300)
        assert process.returncode != 0, log[-3000:]
        assert "The archive process ended with exit status -9" in log

        again = crawl(origin, broken)
        assert again.returncode == 0, again.log[-3000:]
        assert "Repaired " in again.log
    assert texts_by_path(broken, origin) == texts_by_path(uninterrupted, origin)
    check_archive(broken, f"sqlite:///{broken / 'archive.sqlite3'}")
