"""Crawl the VOV-style sample site with the real `vov` spider and check everything it produced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storage.catalogue import repository, runs
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun
from storage.textfiles import TEXT_FILE_PATTERN
from storage.warc.reader import read_capture
from tests.catalogue_queries import capture_counts_by_url, latest_documents
from tests.crawl import CrawlResult, crawl, scrapy
from tests.sample_site import SampleSite, serve

pytestmark = pytest.mark.slow
RETRY_TIMES = 2
PENDING_IN_MEMORY = 20


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def result(request: pytest.FixtureRequest, base_url: str,
           tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    data_dir = tmp_path_factory.mktemp(f"crawl-{request.param}")
    database_url = None
    if request.param == "postgresql":
        database_url = request.getfixturevalue("module_postgres_url")
    # small WARC files and few pending requests in memory, so that rotation and spilling to
    # disk happen in a real crawl too
    done = crawl(base_url, data_dir, database_url, {"WARC_MAX_SIZE": "150000",
                                                  "PENDING_IN_MEMORY": str(PENDING_IN_MEMORY),
                                                  "RETRY_TIMES": str(RETRY_TIMES)})
    assert done.returncode == 0, done.log[-5000:]
    return done


@pytest.fixture(scope="module")
def catalogue(result: CrawlResult):  # type: ignore[no-untyped-def]
    return open_catalogue(result.database_url)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_article_text_equals_gold(site: SampleSite, result: CrawlResult,
                                        catalogue) -> None:  # type: ignore[no-untyped-def]
    gold = site.gold_texts()
    with catalogue() as session:
        documents = {path_of(d.url): d for d in latest_documents(session)}
    assert set(documents) == set(gold)
    for path, text in gold.items():
        written = (result.data_dir / "text" / documents[path].text_path).read_text(encoding="utf-8")
        assert written == text, path
    names = [p.name for p in (result.data_dir / "text").iterdir()]
    assert len(names) == len(gold) and all(TEXT_FILE_PATTERN.fullmatch(n) for n in names)


def test_bad_pages_are_archived_and_their_failure_recorded(site: SampleSite, result: CrawlResult,
                                                           catalogue) -> None:  # type: ignore[no-untyped-def]
    with catalogue() as session:
        run = runs.crawl_run(session)
        failures = {path_of(f.url): f.reason for f in repository.failures_of_run(session, run.id)}
        captured = {path_of(c.url) for c in repository.captures_of_run(session, run.id)}
    assert failures == site.expected_failures()
    assert set(failures) <= captured


def test_every_warc_file_passes_warcio_check(result: CrawlResult) -> None:
    warc_dir = result.data_dir / "warc"
    files = sorted(p for p in warc_dir.iterdir() if p.is_file())  # not indexes/
    assert len(files) > 1, "WARC_MAX_SIZE was set low: the crawl should have rotated files"
    assert not [f for f in files if f.name.endswith(".open")], "a closed crawl leaves no .open file"
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", *map(str, files)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def test_every_catalogue_pointer_reads_back_its_record(result: CrawlResult,
                                                       catalogue) -> None:  # type: ignore[no-untyped-def]
    with catalogue() as session:
        captures = session.scalars(select(Capture)).all()
    assert captures
    for capture in captures:
        record = read_capture(result.data_dir / "warc", capture.warc_file,
                              capture.warc_offset, capture.warc_length)
        assert record.record_type == "response"
        assert record.target_uri == capture.url
        assert record.record_id == capture.warc_record_id
        assert record.status == capture.status
        assert record.payload_digest == capture.payload_digest


def test_each_url_is_fetched_once_and_traps_never(site: SampleSite, result: CrawlResult,
                                                   catalogue) -> None:  # type: ignore[no-untyped-def]
    with catalogue() as session:
        counts = capture_counts_by_url(session)
    server_error = site.special["server_error"]
    by_path = {path_of(url): n for url, n in counts.items()}
    assert by_path.pop(server_error) == RETRY_TIMES + 1  # a 500 is retried, each try archived
    assert set(by_path.values()) == {1}
    assert not [p for p in by_path if "utm_" in p]
    assert not [p for p in by_path for trap in site.traps if p.startswith(trap)]
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in counts)
    assert site.special["redirect"] in by_path and site.special["not_found"] in by_path


def test_run_row_and_stats(site: SampleSite, result: CrawlResult,
                           catalogue) -> None:  # type: ignore[no-untyped-def]
    with catalogue() as session:
        [run] = session.scalars(select(CrawlRun)).all()
        captures = len(repository.captures_of_run(session, run.id))
    stats = run.stats or {}
    assert run.status == "finished" and run.finished_at is not None
    assert stats["catalogue/captures"] == captures
    assert stats["warc/records_written"] == 2 * captures
    assert stats["extract/ok"] == len(site.gold_texts())
    failed = {key.rsplit("/", 1)[1]: n for key, n in stats.items() if key.startswith("extract/failed/")}
    assert sum(failed.values()) == len(site.expected_failures())
    assert stats["robotstxt/request_count"] == 1
    assert stats["gc/frozen_at_start"] > 10_000  # the crawl command set the collector up
    assert stats["downloader/response_status_count/500"] == RETRY_TIMES + 1
    assert stats["downloader/response_status_count/301"] >= 1
    assert stats["downloader/response_status_count/404"] >= 1
    assert stats.get("warc/write_errors", 0) == 0


@pytest.mark.parametrize(("settings", "database_url", "message"), [
    ({"WARC_DIR": "/dev/null/warc"}, None, "WARC_DIR=/dev/null/warc cannot be used"),
    ({}, "postgresql+psycopg://nobody@127.0.0.1:1/none", "127.0.0.1"),
])
def test_no_page_is_fetched_when_it_could_not_be_kept(
    tmp_path: Path, settings: dict[str, str], database_url: str | None, message: str
) -> None:
    site = SampleSite(n_articles=3)
    with serve(site) as base_url:
        done = crawl(base_url, tmp_path, database_url, settings)
    assert done.returncode != 0
    assert message in done.log
    assert site.requests == []


def test_summary_reports_what_the_run_produced(site: SampleSite, result: CrawlResult,
                                               catalogue) -> None:  # type: ignore[no-untyped-def]
    done = scrapy("summary", data_dir=result.data_dir, database_url=result.database_url)
    assert done.returncode == 0, done.stderr
    with catalogue() as session:
        captures = len(repository.captures_of_run(session, runs.crawl_run(session).id))
    lines = {line.strip().split("  ")[0]: line for line in done.stdout.splitlines()}
    assert f" {captures}  " in lines["pages fetched"]
    assert f" {len(site.gold_texts())}  in {result.data_dir / 'text'}" in lines["text files written"]
    failures = lines["extraction failures"]  # the oversized page is an article like any other
    assert "empty: 1" in failures and "not_html: 1" in failures and "too_large" not in failures
    warc_files = sorted(p.name for p in (result.data_dir / "warc").iterdir() if p.is_file())
    assert all(name in done.stdout for name in warc_files)


def test_every_warc_file_says_who_made_it_and_what_it_belongs_to(result: CrawlResult) -> None:
    from warcio.archiveiterator import ArchiveIterator

    for path in sorted((result.data_dir / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            first = next(iter(ArchiveIterator(stream)))
            fields = dict(line.split(": ", 1) for line in
                          first.content_stream().read().decode("utf-8").splitlines() if ": " in line)
        assert first.rec_type == "warcinfo", path.name
        assert fields["isPartOf"] == "vov" and fields["operator"], fields
        assert fields["description"].startswith("Crawl of VOV.VN (https://vov.vn)"), fields
        assert fields["robots"] == "obey" and fields["http-header-user-agent"].startswith("vnarchive/")


def test_the_archive_process_closes_with_the_crawl_and_no_error(result: CrawlResult) -> None:
    """Closed last, it exits by itself: no kill, no error in the crawl's log."""
    assert "The archive process ended" not in result.log
    assert "archive/close_errors" not in result.log


def test_pending_requests_spill_to_disk_and_go_with_the_run(result: CrawlResult,
                                                            catalogue) -> None:  # type: ignore[no-untyped-def]
    """Past PENDING_IN_MEMORY, requests waited in the run's folder under PENDING_REQUESTS_DIR
    (memory stays flat however many URLs a sitemap lists), and the folder went with the run."""
    with catalogue() as session:
        [run] = session.scalars(select(CrawlRun)).all()
    stats = run.stats or {}
    assert stats["scheduler/enqueued/memory"] >= PENDING_IN_MEMORY
    assert stats["scheduler/enqueued/disk"] > 0
    assert stats["scheduler/enqueued/memory"] + stats["scheduler/enqueued/disk"] == stats[
        "scheduler/enqueued"] == stats["scheduler/dequeued"]
    assert list((result.data_dir / "pending").iterdir()) == []
