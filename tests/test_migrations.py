"""Schema upgrades: once per catalogue per process, and never two at once, even when several
processes open one fresh catalogue at the same moment (crawlers started together)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text

from storage.catalogue.db import MIGRATIONS, make_engine, open_catalogue, upgrade
from tests.crawl import PROJECT

PROCESSES = 6

# Waits for a line on stdin after its imports, so that every process opens the catalogue
# at the same moment; then prints how many migration steps it ran itself.
OPENER = """
import logging, sys
from storage.catalogue.db import open_catalogue

steps = []
class Steps(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("Running upgrade"):
            steps.append(record.getMessage())

migration_log = logging.getLogger("alembic.runtime.migration")
migration_log.setLevel(logging.INFO)
migration_log.addHandler(Steps())
print("ready", flush=True)
sys.stdin.readline()
open_catalogue(sys.argv[1])
print(len(steps), flush=True)
"""


def head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def migration_steps() -> int:
    return len(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))


def versions_of(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        versions = list(connection.scalars(text("SELECT version_num FROM alembic_version")))
    engine.dispose()
    return versions


def test_processes_opening_a_fresh_catalogue_at_once_migrate_it_once(catalogue_url: str) -> None:
    openers = [subprocess.Popen([sys.executable, "-c", OPENER, catalogue_url], cwd=PROJECT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    try:
        for opener in openers:  # all started and waiting: none has touched the catalogue
            assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
        for opener in openers:
            assert opener.stdin is not None
            opener.stdin.write("go\n")
            opener.stdin.flush()
        results = [opener.communicate(timeout=120) for opener in openers]
    finally:
        for opener in openers:
            if opener.poll() is None:
                opener.kill()
                opener.wait()
    assert [opener.returncode for opener in openers] == [0] * PROCESSES, \
        "\n".join(stderr for _, stderr in results)
    steps = [int(stdout) for stdout, _ in results]
    assert sum(steps) == migration_steps()  # every step ran once, all by one process
    assert sorted(steps) == [0] * (PROCESSES - 1) + [migration_steps()]
    assert versions_of(catalogue_url) == [head_revision()]
    engine = make_engine(catalogue_url)
    assert {"captures", "documents", "crawl_runs", "frontier"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_a_second_open_in_one_process_does_not_run_the_migrations_again(catalogue_url: str) -> None:
    open_catalogue(catalogue_url)
    assert versions_of(catalogue_url) == [head_revision()]
    engine = make_engine(catalogue_url)
    with engine.begin() as connection:  # a revision alembic cannot know: running it fails
        connection.execute(text("UPDATE alembic_version SET version_num = 'not-a-revision'"))
    sessions = open_catalogue(catalogue_url)
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM captures")) == 0
    assert versions_of(catalogue_url) == ["not-a-revision"]  # untouched: alembic never ran
    with pytest.raises(CommandError, match="not-a-revision"):
        upgrade(engine)  # as a new process's first open would
    engine.dispose()



# Run with only the zip file for our packages (cwd elsewhere, the zip first on sys.path):
# prints where `storage` was imported from and the catalogue's tables once migrated.
ZIPPED_OPENER = """
import sys
import zipfile
sys.path.insert(0, sys.argv[1])
import storage
from sqlalchemy import inspect
from storage.catalogue.db import open_catalogue
sessions = open_catalogue(sys.argv[2])
print(storage.__file__)
print(" ".join(sorted(inspect(sessions.kw["bind"]).get_table_names())))
"""


def test_migrations_run_from_a_zipped_package(tmp_path) -> None:
    """As Scrapyd runs the project: from an egg, a zip file with no folder on disk."""
    egg = tmp_path / "vnarchive.egg"
    with zipfile.ZipFile(egg, "w") as out:
        for path in sorted((PROJECT / "storage").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out.write(path, path.relative_to(PROJECT).as_posix())
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    done = subprocess.run([sys.executable, "-c", ZIPPED_OPENER, str(egg), url], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    imported_from, tables = done.stdout.splitlines()
    assert imported_from.startswith(str(egg) + "/")
    assert {"alembic_version", "captures"} <= set(tables.split())
    assert versions_of(url) == [head_revision()]
