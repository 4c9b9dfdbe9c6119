"""`scrapy reextract` and `scrapy warcimport` with FRONTIER_URL: several processes share one
job through Redis, and the result is the single process's, byte for byte (text names and
bytes, catalogue rows), even when one of them is killed mid-job.

The archive: WARC files of HTML pages of a host no profile names (extracted with default
hints, so every URL is new to `articles` and the names are given during the run), plus
empty pages that fail; catalogued alike in one PostgreSQL schema per run compared.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, ImportedFile
from storage.warc.exchange import HttpExchange
from storage.warc.writer import WarcWriter
from tests.conftest import fresh_postgres_schema
from tests.crawl import PROJECT
from tests.shared_jobs import (
    REDIS_URL,
    delete_job,
    holds_lease,
    job_base,
    outcome,
    redis_client_or_skip,
    wait_for_lease_of,
)
from tests.test_reextract import report_counts

FETCHED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
FILES, PAGES = 8, 6  # 48 captures; REEXTRACT_BATCH=5 makes one task per file
FAST = ["-s", "REEXTRACT_BATCH=5", "-s", "REDIS_TASK_LEASE=2"]


def page(file: int, number: int) -> bytes:
    if number == PAGES - 1:
        return b""  # fails: nothing to extract
    words = " ".join(f"tu{file}x{number}y{k}" for k in range(40))
    paragraphs = "".join(f"<p>Đoạn {k} của bài {file}-{number}: {words}.</p>" for k in range(6))
    return (f"<html><head><title>Bài {file}-{number}</title></head><body><h1>Bài {file}-{number}</h1>"
            f"<article>{paragraphs}</article></body></html>").encode()


def write_archive(warc_dir: Path) -> list[repository.NewCapture]:
    captures = []
    for file in range(FILES):
        with WarcWriter(warc_dir, prefix=f"shared{file}") as writer:
            for number in range(PAGES):
                url = f"http://tin.example/{(file * 7 + number * 5) % 97}/bai-{file}-{number}.html"
                body = page(file, number)
                headers = [("Content-Type", "text/html; charset=utf-8")]
                pointer = writer.write_exchange(HttpExchange(
                    url, "GET", [("User-Agent", "test")], b"", "HTTP/1.1", 200, headers, body, FETCHED))
                captures.append(repository.NewCapture(
                    url=url, warc_type="response", status=200, fetched_at=FETCHED,
                    content_type=headers[0][1], payload_digest=pointer.payload_digest,
                    payload_length=len(body), warc_file=pointer.warc_file, warc_offset=pointer.offset,
                    warc_length=pointer.length, warc_record_id=pointer.record_id))
    return captures


@pytest.fixture
def redis_client() -> object:
    return redis_client_or_skip()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[repository.NewCapture]]:
    data_dir = tmp_path_factory.mktemp("shared")
    return data_dir, write_archive(data_dir / "warc")


def catalogue(url: str, captures: list[repository.NewCapture]) -> None:
    sessions = open_catalogue(url)
    with sessions.begin() as session:
        repository.insert_captures(session, captures)
    sessions.kw["bind"].dispose()


def start(data_dir: Path, database_url: str, texts: Path, *options: str,
          frontier: str | None = REDIS_URL) -> subprocess.Popen[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    env.pop("FRONTIER_URL", None)
    if frontier:
        env["FRONTIER_URL"] = frontier
    return subprocess.Popen([sys.executable, "-m", "scrapy", "reextract", "-s", f"EXTRACT_TEXT_DIR={texts}",
                             *FAST, *options], cwd=PROJECT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen[str]) -> str:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stdout + stderr
    return stdout


def tasks_done(stdout: str) -> int:
    line = next(line for line in stdout.splitlines() if line.startswith("Shared job "))
    return int(line.split("filed ")[1].split(" of ")[0])


@pytest.fixture(scope="module")
def single(archive: tuple[Path, list[repository.NewCapture]]) -> tuple[object, ...]:
    """One process, no FRONTIER_URL: what every shared run must give."""
    data_dir, captures = archive
    with fresh_postgres_schema() as url:
        catalogue(url, captures)
        texts = data_dir / "text-single"
        stdout = finished(start(data_dir, url, texts, "--workers", "2", frontier=None))
        assert report_counts(stdout)["new"] == FILES * (PAGES - 1), stdout
        assert "Shared job" not in stdout
        return outcome(url, texts)


def both_in_one_job(client: object, kind: str, start_first: Callable[[], subprocess.Popen[str]],
                    start_second: Callable[[], subprocess.Popen[str]]) -> tuple[
                        subprocess.Popen[str], subprocess.Popen[str]]:
    """Two processes surely in one job: the first is held (SIGSTOP) once it has taken a task,
    until the second has taken one too; on a busy machine the first could otherwise finish the
    job before the second starts, which then starts one of its own. Give them a long lease:
    nothing may lapse meanwhile."""
    first = start_first()
    deadline = time.monotonic() + 120
    base = wait_for_lease_of(client, first.pid, kind, deadline)
    assert base is not None, "the first process never took a task"
    os.kill(first.pid, signal.SIGSTOP)
    try:
        second = start_second()
        assert wait_for_lease_of(client, second.pid, kind, deadline) == base
    finally:
        os.kill(first.pid, signal.SIGCONT)
    return first, second


def test_two_processes_give_the_single_process_result(archive, single, redis_client, tmp_path) -> None:
    data_dir, captures = archive
    with fresh_postgres_schema() as url:
        catalogue(url, captures)
        texts = data_dir / f"text-{tmp_path.name}"
        long_lease = ("-s", "REDIS_TASK_LEASE=60")
        first, second = both_in_one_job(
            redis_client, "reextract", lambda: start(data_dir, url, texts, "--workers", "2", *long_lease),
            lambda: start(data_dir, url, texts, "--workers", "1", "-s", "EXTRACT_TIMEOUT=0", *long_lease))
        outputs = [finished(first), finished(second)]
        base = job_base(outputs[0])
        try:
            assert job_base(outputs[1]) == base  # one job, joined
            assert sum(tasks_done(out) for out in outputs) == FILES  # every task filed once
            assert sum(report_counts(out)["new"] for out in outputs) == FILES * (PAGES - 1)
            assert sum(report_counts(out)["failed"] for out in outputs) == FILES
            assert outcome(url, texts) == single
        finally:
            delete_job(redis_client, base)


def test_a_killed_process_s_tasks_are_done_by_the_other(archive, single, redis_client, tmp_path) -> None:
    """The first process is stopped while it holds a lease, then SIGKILLed: the second takes
    the job over once the lease (2 s) lapses, and the result is still the single process's."""
    data_dir, captures = archive
    with fresh_postgres_schema() as url:
        catalogue(url, captures)
        texts = data_dir / f"text-{tmp_path.name}"
        doomed = start(data_dir, url, texts, "--workers", "1", "-s", "EXTRACT_TIMEOUT=0")
        base = None
        try:
            deadline = time.monotonic() + 60
            while base is None:
                base = wait_for_lease_of(redis_client, doomed.pid, "reextract", deadline)
                assert base is not None, "the first process never held a lease"
                doomed.send_signal(signal.SIGSTOP)
                if not holds_lease(redis_client, base, doomed.pid):  # between two tasks: again
                    doomed.send_signal(signal.SIGCONT)
                    base = None
            doomed.kill()
            doomed.communicate(timeout=30)
            assert doomed.returncode == -signal.SIGKILL
            survivor = finished(start(data_dir, url, texts, "--workers", "1", "-s", "EXTRACT_TIMEOUT=0"))
            assert job_base(survivor) == base
            assert 1 <= tasks_done(survivor) <= FILES
            assert outcome(url, texts) == single
        finally:
            if doomed.poll() is None:
                doomed.kill()
            if base is not None:
                delete_job(redis_client, base)


def import_outcome(database_url: str) -> tuple[object, ...]:
    """What an import leaves, without row ids and import times: captures by record, and
    each file's `imported_files` row."""
    sessions = open_catalogue(database_url)
    with sessions() as session:
        captures = sorted(session.execute(select(
            Capture.warc_record_id, Capture.url, Capture.warc_type, Capture.status, Capture.fetched_at,
            Capture.payload_digest, Capture.warc_file, Capture.warc_offset, Capture.warc_length)).all())
        files = sorted(session.execute(select(
            ImportedFile.path, ImportedFile.size, ImportedFile.sha256, ImportedFile.format,
            ImportedFile.records, ImportedFile.captures, ImportedFile.duplicates,
            ImportedFile.problems)).all())
    sessions.kw["bind"].dispose()
    return captures, files


def start_import(data_dir: Path, database_url: str, paths: list[Path],
                 frontier: str | None = REDIS_URL, lease: float = 2) -> subprocess.Popen[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    env.pop("FRONTIER_URL", None)
    if frontier:
        env["FRONTIER_URL"] = frontier
    return subprocess.Popen([sys.executable, "-m", "scrapy", "warcimport", "-s", f"REDIS_TASK_LEASE={lease}",
                             *map(str, paths)],
                            cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_importers_share_the_files(archive, redis_client, tmp_path) -> None:
    data_dir, _ = archive
    files = sorted((data_dir / "warc").glob("*.warc.gz"))
    assert len(files) == FILES
    with fresh_postgres_schema() as alone_url, fresh_postgres_schema() as shared_url:
        alone = finished(start_import(tmp_path / "alone", alone_url, files, frontier=None))
        assert f"{FILES} files imported" in alone, alone
        def importer() -> subprocess.Popen[str]:
            return start_import(tmp_path / "shared", shared_url, files, lease=60)

        first, second = both_in_one_job(redis_client, "warcimport", importer, importer)
        outputs = [finished(first), finished(second)]
        base = job_base(outputs[0])
        try:
            assert job_base(outputs[1]) == base
            done = [int(out.split("this process imported ")[1].split(" of ")[0]) for out in outputs]
            assert sum(done) == FILES  # each file imported once, by one of them
            assert import_outcome(shared_url) == import_outcome(alone_url)
        finally:
            delete_job(redis_client, base)
