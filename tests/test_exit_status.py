"""`scrapy crawl` exits with a status that tells the truth, and an expected condition is
one line saying what to do, never a traceback (issue: hold up on the real web)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from crawler.commands.crawl import exit_code_for
from crawler.exitcodes import ExitCode
from storage.catalogue import locks
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import CrawlRun
from tests.crawl import AS_OWNER, PROJECT, check_archive, crawl, crawl_command
from tests.hostile_site import SYNTHETIC_CHALLENGE, real_challenge
from tests.sample_site import SampleSite, serve
from tests.sample_site.routes import HTML, Response

pytestmark = pytest.mark.slow
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class ChallengingSite(SampleSite):
    """A site behind a bot wall: every answer but robots.txt is a challenge page."""

    def __init__(self, challenge: bytes) -> None:
        super().__init__(n_articles=40)
        self.challenge = challenge

    def respond(self, target: str, base: str) -> Response:
        if target == "/robots.txt":
            return super().respond(target, base)
        return Response(200, self.challenge, HTML, compressible=True, cacheable=False)


def one_line_error(output: str) -> list[str]:
    assert "Traceback" not in output, output[-3000:]
    return [line for line in output.splitlines() if line.startswith("scrapy crawl: ")]


@pytest.mark.parametrize("which", ["synthetic", "vov.vn's own"])
def test_a_site_answering_with_bot_challenges_stops_the_run_early(
        which: str, tmp_path: Path) -> None:
    challenge = SYNTHETIC_CHALLENGE if which == "synthetic" else real_challenge(SHARED_DATA)
    if challenge is None:
        pytest.skip("../shared/data/vov-real/bot-challenge.html is not here")
    site = ChallengingSite(challenge)
    with serve(site) as origin:
        done = crawl(origin, tmp_path, settings={"CONCURRENT_REQUESTS_PER_DOMAIN": "1"})
    assert done.returncode == ExitCode.BLOCKED, done.log[-3000:]
    [line] = one_line_error(done.log)
    assert "is answering with a bot challenge" in line
    assert len(site.requests) < 20, "it went on fetching challenges"
    with open_catalogue(done.database_url)() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.status == "bot_challenge"
    assert run.new_articles == 0  # a challenge is never counted as an article
    check_archive(tmp_path, done.database_url)


def test_a_locked_site_is_one_line_and_status_3(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    sessions = open_catalogue(database_url)
    with sessions.begin() as session:  # this test process holds the site: alive
        assert locks.take_lock(session, "vov", 99, socket.gethostname(), os.getpid(),
                                    datetime.now(UTC))
    site = SampleSite(n_articles=3)
    with serve(site) as origin:
        done = crawl(origin, tmp_path)
    assert done.returncode == ExitCode.LOCKED, done.log[-3000:]
    [line] = one_line_error(done.log)
    assert "is being crawled by run 99" in line and "try again" in line
    assert site.requests == []
    with sessions() as session:
        assert session.scalars(select(CrawlRun.status)).all() == ["locked"]


@pytest.mark.parametrize("where", ["refused database", "data folder is a file",
                                   "read-only data folder"])
def test_an_unusable_catalogue_or_folder_is_one_line_and_status_1(
        where: str, tmp_path: Path) -> None:
    data_dir, database_url = tmp_path / "data", None
    if where == "refused database":
        database_url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    elif where == "data folder is a file":
        data_dir.write_text("not a folder")
    else:
        if os.geteuid() == 0 and not AS_OWNER:
            pytest.skip("root writes in read-only folders, and setpriv is not here to stop it")
        data_dir.mkdir(mode=0o500)
    command, env = crawl_command("http://127.0.0.1:9", data_dir, database_url)
    done = subprocess.run([*AS_OWNER, *command], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == ExitCode.FAILED, done.stderr[-3000:]
    [line] = one_line_error(done.stdout + done.stderr)
    expected = {"refused database": "DATABASE_URL", "data folder is a file": "Not a directory",
                "read-only data folder": "ermission denied"}[where]
    assert expected in line


@pytest.mark.postgres
def test_a_catalogue_lost_mid_run_stops_it_with_status_1(
        postgres_url: str, tmp_path: Path) -> None:
    site, served, lost = SampleSite(n_articles=30), [0], threading.Event()
    respond = site.respond

    def losing(target: str, base: str) -> Response:
        if "-post" in target:
            served[0] += 1
            if served[0] == 5:  # the database loses the archive's table mid-run
                with create_engine(postgres_url).begin() as connection:
                    connection.execute(text("DROP TABLE captures CASCADE"))
                lost.set()
        return respond(target, base)

    site.respond = losing  # type: ignore[method-assign]
    with serve(site) as origin:
        done = crawl(origin, tmp_path, postgres_url)
    assert lost.is_set()
    assert done.returncode == ExitCode.FAILED, done.log[-3000:]
    assert "Spider closed (warc_write_error)" in done.log


@pytest.mark.parametrize(("reason", "stats", "code"), [
    ("finished", {}, ExitCode.OK),
    ("closespider_timeout", {}, ExitCode.OK),  # a limit the user set
    ("finished", {"warc/write_errors": 2}, ExitCode.FAILED),
    ("finished", {"archive/close_errors": 1}, ExitCode.FAILED),  # the last batch was lost
    ("finished", {"extract/file_errors": 1}, ExitCode.FAILED),
    ("warc_write_error", {}, ExitCode.FAILED),
    ("start_error", {}, ExitCode.FAILED),  # the spider's start failed: nothing was crawled
    ("memusage_exceeded", {}, ExitCode.FAILED),
    ("lock_lost", {}, ExitCode.FAILED),
    ("bot_challenge", {"warc/write_errors": 1}, ExitCode.BLOCKED),
    (None, {}, ExitCode.FAILED),
])
def test_the_exit_status_follows_the_close_reason_and_what_was_lost(
        reason: str | None, stats: dict[str, int], code: ExitCode) -> None:
    assert exit_code_for(reason, stats) == code
