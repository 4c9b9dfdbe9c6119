"""Engines, sessions and schema upgrades for the catalogue.

SQLite is the default (one file under DATA_DIR); any SQLAlchemy URL works,
PostgreSQL included. The schema is created and upgraded by the Alembic
migrations in `storage/migrations`, never by `create_all`: once per catalogue per
process (the first `open_catalogue`), under a lock in the database itself, because
several crawlers (and commands) may start at once against one fresh catalogue. The
migrations are package data, found through importlib.resources (a zipped egg too).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.packagedata import folder_on_disk

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = resources.files("storage") / "migrations"
MIGRATION_LOCK = 0x76_6E_61_72  # "vnar": the advisory lock's first key on PostgreSQL

_upgraded: set[str] = set()
"""The catalogue URLs this process brought to the newest migration."""
_upgrading = threading.Lock()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL mode, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})
    event.listen(engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    _set_wal(cursor)  # readers never block the crawl's writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints, safe against corruption
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


WAL_WAIT = 30.0  # seconds to get the journal switched while other processes open the file too


def _set_wal(cursor: Any) -> None:
    """Switching a fresh file to WAL needs it to itself for a moment, and SQLite answers
    "database is locked" at once, without its busy timeout, when processes starting together
    open it at the same time: tried again until WAL_WAIT has passed."""
    deadline = time.monotonic() + WAL_WAIT
    pause = 0.01
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def alembic_config(engine: Engine, scripts: Path) -> Config:
    """Alembic's configuration for `engine`, its migration scripts in the folder `scripts`."""
    from alembic.config import Config  # imported by processes that migrate only

    config = Config()
    config.set_main_option("script_location", str(scripts))
    # configparser interpolates '%': URL-encoded passwords and options must be escaped
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (creates it on an empty database), holding
    the migration lock: a process that waited for it finds the work done."""
    from alembic import command

    with folder_on_disk(MIGRATIONS) as scripts, engine.begin() as connection:
        config = alembic_config(engine, scripts)
        hold_migration_lock(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def hold_migration_lock(connection: Connection) -> None:
    """Until `connection`'s transaction ends, no other connection migrates this catalogue.

    PostgreSQL: a transaction-level advisory lock on (MIGRATION_LOCK, the schema), so
    catalogues in other schemas of the database migrate meanwhile. SQLite: BEGIN
    IMMEDIATE, which takes the file's write lock (others wait, up to the busy timeout).
    Must come first in the transaction.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                           {"key": MIGRATION_LOCK})
    elif dialect == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_catalogue(url: str, *, upgraded: bool = False) -> sessionmaker[Session]:
    """Engine + session factory, the schema upgraded on the first open of `url` in this
    process (later opens trust it: a schema does not go back): the one way in for callers.
    `upgraded`: the caller knows it is upgraded already (a crawl's archive process, whose
    crawl opened it first)."""
    engine = make_engine(url)
    key = engine.url.render_as_string(hide_password=False)
    with _upgrading:
        if key not in _upgraded and not upgraded:
            upgrade(engine)
            _upgraded.add(key)
    return sessionmaker(engine, expire_on_commit=False)
