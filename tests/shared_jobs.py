"""What the tests of shared jobs (FRONTIER_URL) need: the Redis client, a job's keys found and
deleted, a process's lease seen, and a catalogue's outcome as comparable values."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Article, Document, ExtractionFailure
from storage.redisqueue.connection import RedisUnavailable, connect
from tests.conftest import need_service

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_JOB_LINE = re.compile(r"^Shared job (vnarchive:tasks:\S+):(\d+) ", re.MULTILINE)


def redis_client_or_skip() -> object:
    try:
        return connect(REDIS_URL)
    except RedisUnavailable as error:
        need_service("Redis at " + REDIS_URL, error)
        raise


def job_base(stdout: str) -> str:
    """`vnarchive:tasks:<kind>:<fingerprint>` from a command's `Shared job ...` line."""
    found = _JOB_LINE.search(stdout)
    assert found, stdout
    return found.group(1)


def delete_job(client: object, base: str) -> None:
    assert base.startswith("vnarchive:tasks:")
    for name in list(client.scan_iter(match=f"{base}:*", count=500)):  # type: ignore[attr-defined]
        client.delete(name)  # type: ignore[attr-defined]


def wait_for_lease_of(client: object, pid: int, kind: str, deadline: float) -> str | None:
    """The job base under which process `pid` holds a lease now, polling until `deadline`
    (None if it never did)."""
    while time.monotonic() < deadline:
        for name in client.scan_iter(match=f"vnarchive:tasks:{kind}:*:holder", count=1000):  # type: ignore[attr-defined]
            holders = client.hvals(name)  # type: ignore[attr-defined]
            if any(f":{pid}:" in h.decode() for h in holders):
                return name.decode().rsplit(":", 2)[0]
        time.sleep(0.002)
    return None


def holds_lease(client: object, base: str, pid: int) -> bool:
    for name in client.scan_iter(match=f"{base}:*:holder"):  # type: ignore[attr-defined]
        if any(f":{pid}:" in h.decode() for h in client.hvals(name)):  # type: ignore[attr-defined]
            return True
    return False


def outcome(database_url: str, text_dir: Path) -> tuple[object, ...]:
    """Everything a re-extraction leaves, without ids of rows nobody names and timestamps:
    text files (names and bytes), `articles` (id and URL: the names come from the id),
    `documents` and `extraction_failures` by capture."""
    sessions = open_catalogue(database_url)
    with sessions() as session:
        articles = sorted(session.execute(select(Article.id, Article.url)).all())
        documents = sorted(session.execute(select(
            Document.capture_id, Document.url, Document.title, Document.text_path, Document.text_sha1,
            Document.extractor_version, Document.published_at)).all())
        failures = sorted(session.execute(select(
            ExtractionFailure.capture_id, ExtractionFailure.url, ExtractionFailure.reason,
            ExtractionFailure.detail, ExtractionFailure.extractor_version)).all())
    sessions.kw["bind"].dispose()
    files = {p.name: p.read_bytes() for p in sorted(text_dir.iterdir())} if text_dir.exists() else {}
    return files, articles, documents, failures
