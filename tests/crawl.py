"""Run the real `scrapy crawl` command against a served site, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
# Root writes anywhere, whatever a folder's mode says; without the capabilities that let it,
# it meets folder modes as their owner does (setpriv is util-linux's). Prefix a command with
# it to test read-only folders.
AS_OWNER = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] \
    if os.geteuid() == 0 and shutil.which("setpriv") else []

# A loopback server can take more than the real site's polite defaults.
FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "RETRY_TIMES": "2",
}


@dataclass(frozen=True)
class CrawlResult:
    data_dir: Path
    database_url: str
    returncode: int
    log: str


def crawl(origin: str, data_dir: Path, database_url: str | None = None,
          settings: dict[str, str] | None = None, spider: str = "vov") -> CrawlResult:
    command, env = crawl_command(origin, data_dir, database_url, settings, spider)
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    return CrawlResult(data_dir, env["DATABASE_URL"], done.returncode, done.stdout + done.stderr)


def start_crawl(origin: str, data_dir: Path, **options: object) -> subprocess.Popen[str]:
    """The crawl as a process of its own group (workers included), for tests that kill it."""
    command, env = crawl_command(origin, data_dir, **options)  # type: ignore[arg-type]
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, text=True, start_new_session=True)


def crawl_command(origin: str, data_dir: Path, database_url: str | None = None,
                  settings: dict[str, str] | None = None,
                  spider: str = "vov") -> tuple[list[str], dict[str, str]]:
    database_url = database_url or f"sqlite:///{data_dir / 'archive.sqlite3'}"
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    options = [arg for name, value in {**FAST, **(settings or {})}.items()
               for arg in ("-s", f"{name}={value}")]
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"origin={origin}", *options]
    return command, env


def check_archive(data_dir: Path, database_url: str) -> int:
    """Every WARC file passes `warcio check`, none is left `.open`, and every catalogue
    pointer reads back the record it names. Returns the number of captures checked."""
    from sqlalchemy import select

    from storage.catalogue.db import open_catalogue
    from storage.catalogue.models import Capture
    from storage.warc.reader import read_capture

    files = sorted(p for p in (data_dir / "warc").iterdir() if p.is_file())  # not indexes/
    assert not [f.name for f in files if f.name.endswith(".open")], "a file was left .open"
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    with open_catalogue(database_url)() as session:
        captures = session.scalars(select(Capture)).all()
    for capture in captures:
        record = read_capture(data_dir / "warc", capture.warc_file, capture.warc_offset,
                              capture.warc_length)
        assert (record.record_type, record.target_uri, record.record_id) == (
            capture.warc_type, capture.url, capture.warc_record_id)
        # a status the catalogue cannot hold is 0 there, with the reason; the record keeps it
        normalised = capture.problems is not None and "status" in capture.problems
        assert record.status == capture.status or (normalised and capture.status == 0)
    return len(captures)


def scrapy(*args: str, data_dir: Path, database_url: str | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a `scrapy` project command on the archive in `data_dir`."""
    env = {**os.environ, "DATA_DIR": str(data_dir),
           "DATABASE_URL": database_url or f"sqlite:///{data_dir / 'archive.sqlite3'}"}
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
