"""Shared fixtures: catalogues on real SQLite files and on the machine's PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.sample_site import SampleSite, serve

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def need_service(what: str, error: Exception) -> None:
    """Skip on a user's machine without the service; in CI a missing service is a failure."""
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message + " (CI must provide it: see .ci/run)")
    pytest.skip(message)


@pytest.fixture
def frontier_namespace() -> Iterator[str]:
    """A FRONTIER_NAMESPACE of the test's own on the machine's Redis (other tests and other
    users share the server: never flushed), its keys deleted afterwards."""
    import redis

    client = redis.StrictRedis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        need_service("Redis at " + REDIS_URL, error)
    namespace = f"vnarchive-test-{uuid.uuid4().hex[:12]}"
    yield namespace
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.connection_pool.disconnect()


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A URL to a fresh, empty schema of the PostgreSQL `test` database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        need_service("PostgreSQL at " + POSTGRES_URL, error)
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def site() -> SampleSite:
    """The VOV-style sample site (30 articles), shared by a test module."""
    return SampleSite(n_articles=30)


@pytest.fixture(scope="module")
def base_url(site: SampleSite) -> Iterator[str]:
    """`site` served on loopback for the module's tests."""
    with serve(site) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalogue_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """For a module's worth of tests sharing one crawl."""
    with fresh_postgres_schema() as url:
        yield url
