"""Expected conditions in `scrapy reextract` and `scrapy extract` (a database that refuses,
a folder that cannot be written) are one line on stderr and exit status 1, no traceback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.archived import Page, archive_pages
from tests.crawl import AS_OWNER, PROJECT
from tests.sample_site import SampleSite

REFUSED = "postgresql+psycopg://postgres@127.0.0.1:1/x"  # nothing listens on port 1


def scrapy(*args: str, data_dir: Path, database_url: str,
           **settings: str) -> subprocess.CompletedProcess[str]:
    options = [arg for name, value in settings.items() for arg in ("-s", f"{name}={value}")]
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    return subprocess.run([*AS_OWNER, sys.executable, "-m", "scrapy", *args, *options], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def one_line(done: subprocess.CompletedProcess[str], command: str) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"scrapy {command}: "), done.stderr
    return lines[0]


def unwritable(tmp_path: Path, how: str) -> Path:
    """A folder nothing can be written in: read-only, or a regular file where the folder
    should be."""
    path = tmp_path / "texts"
    if how == "read-only":
        if os.geteuid() == 0 and not AS_OWNER:
            pytest.skip("root writes in read-only folders, and setpriv is not here to stop it")
        path.mkdir()
        path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    else:
        path.write_text("not a folder")
    return path


def test_reextract_with_a_refused_database(tmp_path: Path) -> None:
    line = one_line(scrapy("reextract", data_dir=tmp_path, database_url=REFUSED), "reextract")
    assert "127.0.0.1:1/x cannot be used" in line and "check DATABASE_URL" in line
    assert "postgres@" not in line


@pytest.mark.parametrize("how", ["read-only", "a file"])
def test_reextract_with_an_unwritable_text_dir(tmp_path: Path, how: str) -> None:
    text_dir = unwritable(tmp_path, how)
    site = SampleSite(n_articles=3)
    path = sorted(site.gold_texts())[0]
    database_url = archive_pages(tmp_path, [Page("https://vov.vn" + path,
                                                 site.respond(path, "https://vov.vn").body)])
    done = scrapy("reextract", data_dir=tmp_path, database_url=database_url, TEXT_DIR=str(text_dir))
    assert str(text_dir) in one_line(done, "reextract")


@pytest.mark.parametrize("how", ["read-only", "a file"])
def test_extract_into_an_unwritable_folder(tmp_path: Path, how: str) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b"<html><body><p>trang</p></body></html>")
    out = unwritable(tmp_path, how)
    done = scrapy("extract", "-o", str(out), str(page), data_dir=tmp_path, database_url=REFUSED)
    assert str(out) in one_line(done, "extract")  # and the database is not its business


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("outputs")
    (data_dir / "text").mkdir()
    pages = [Page(f"https://vov.vn/bai-{n}.vov", b"<p>x</p>") for n in range(3)]
    return data_dir, archive_pages(data_dir, pages)


def into(stdout: int, *args: str, data_dir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)


@pytest.mark.parametrize("command", [("cdxj",), ("export", "-o", "-", "--format", "csv")])
def test_a_full_output_is_one_line_naming_it(small_archive: tuple[Path, str],
                                             command: tuple[str, ...]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    data_dir, database_url = small_archive
    with open("/dev/full", "w") as full:
        done = into(full.fileno(), *command, data_dir=data_dir, database_url=database_url)
    line = one_line(done, command[0])
    assert "stdout cannot be written (No space left on device)" in line
    assert "sqlite" not in line and "DATA_DIR" not in line


@pytest.mark.parametrize("command", [("cdxj",), ("export", "-o", "-", "--format", "csv")])
def test_a_reader_that_went_away_stops_the_command_quietly(
        small_archive: tuple[Path, str], command: tuple[str, ...]) -> None:
    """`scrapy cdxj | head`: a closed pipe is no error of ours; 141 as for tools SIGPIPE stops."""
    data_dir, database_url = small_archive
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line
    try:
        done = into(write_end, *command, data_dir=data_dir, database_url=database_url)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_no_database_password_is_printed(tmp_path: Path) -> None:
    done = scrapy("cdxj", data_dir=tmp_path, database_url="postgresql+psycopg://vn:s3cret@127.0.0.1:1/x")
    line = one_line(done, "cdxj")
    assert "s3cret" not in line and "127.0.0.1:1/x" in line


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql+psycopg://vn:s3cret@db:5432/x", "postgresql+psycopg://db:5432/x"),
    ("postgresql+psycopg:///x?host=/run/pg&user=vn&password=s3cret", "postgresql+psycopg:///x?host="),
    ("sqlite:////data/a@b/c.db", "sqlite:////data/a@b/c.db"),  # no credentials: as given
])
def test_a_database_url_is_printed_without_its_password(url: str, shown: str) -> None:
    from crawler.exitcodes import without_credentials

    printed = without_credentials(url)
    assert "s3cret" not in printed and "vn" not in printed and printed.startswith(shown)
