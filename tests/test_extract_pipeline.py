"""ExtractPipeline, built as Scrapy builds it (`get_crawler`), with the real spider, archive,
worker pool and filer: a page the archive stored as a revisit is not extracted again
(`extract/skipped/unchanged`) unless a dead run left it unfinished, and a page that hangs
its worker is retried alone, then recorded (`extract/worker_restarts`, `extract/timeouts`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from scrapy.utils.test import get_crawler
from sqlalchemy import select

from crawler.archive import Archive
from crawler.captures import PendingCapture
from crawler.exitcodes import Unusable
from crawler.items import ArticlePage, ExtractedArticle
from crawler.pipelines import ExtractPipeline
from crawler.profiles import load_profiles
from crawler.spiders.news import NewsSpider
from storage.catalogue.db import open_catalogue
from storage.catalogue.frontier import Discovered
from storage.catalogue.models import Document, ExtractionFailure, FrontierEntry
from storage.warc.exchange import HttpExchange
from tests.crawl import PROJECT
from tests.sample_site import SampleSite

pytestmark = pytest.mark.slow
ORIGIN = "https://vov.vn"
CONTENT_TYPE = "text/html; charset=utf-8"


def vov_spider(**extract: object) -> type[NewsSpider]:
    """The vov site's spider, as the spider loader makes it; `extract` changes its hints."""
    profile = load_profiles(PROJECT / "settings" / "sites")["vov"]
    profile = replace(profile, extract=replace(profile.extract, **extract))
    return type("VovSpider", (NewsSpider,), {"name": "vov", "profile": profile})


@contextmanager
def pipeline_of(tmp_path: Path, spider: type[NewsSpider],
                **settings: object) -> Iterator[tuple[ExtractPipeline, Archive, str]]:
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    crawler = get_crawler(spider, {
        "DATABASE_URL": database_url, "WARC_DIR": str(tmp_path / "warc"),
        "TEXT_DIR": str(tmp_path / "text"), "WARC_MAX_SIZE": 1 << 20, "EXTRACT_WORKERS": 1,
        "EXTRACT_MAX_BYTES": 2 << 20, **settings})
    crawler.spider = spider.from_crawler(crawler)
    pipeline = ExtractPipeline.from_crawler(crawler)
    archive = Archive.of(crawler)
    archive.site = "vov"
    try:
        yield pipeline, archive, database_url
    finally:
        pipeline.close_spider()
        archive.close().result(timeout=30)


def fetched(archive: Archive, url: str, body: bytes, extract_unchanged: bool = False) -> ArticlePage:
    """The page as the spider hands it over, once the exporter gave its exchange to the archive."""
    record_id, now = f"<urn:uuid:{uuid.uuid4()}>", datetime.now(UTC)
    exchange = HttpExchange(url, "GET", [], b"", "HTTP/1.1", 200, [("Content-Type", CONTENT_TYPE)],
                            body, now)
    archived = asyncio.wrap_future(archive.archive_exchange(exchange, record_id, None, "article"))
    return ArticlePage(url, 200, body, CONTENT_TYPE, PendingCapture(record_id, now, archived), now,
                       extract_unchanged=extract_unchanged)


def one_article() -> tuple[str, bytes, str]:
    site = SampleSite(n_articles=3)
    path, gold = next(iter(site.gold_texts().items()))
    return ORIGIN + path, site.respond(path, ORIGIN).body, gold


def test_a_page_stored_as_a_revisit_is_not_extracted_again_unless_left_unfinished(
        tmp_path: Path) -> None:
    url, body, gold = one_article()
    with pipeline_of(tmp_path, vov_spider()) as (pipeline, archive, database_url):
        stats = pipeline.crawler.stats

        async def crawl_thrice() -> list[ExtractedArticle]:
            archive.remember([Discovered(url)])
            return [await pipeline.process_item(fetched(archive, url, body, unfinished))
                    for unfinished in (False, False, True)]

        first, revisit, unfinished = asyncio.run(crawl_thrice())
        text = tmp_path / "text" / str(first.text_path)
        assert text.read_text("utf-8") == gold
        assert revisit == ExtractedArticle(url)
        assert stats.get_value("extract/skipped/unchanged") == 1
        assert unfinished.text_path == first.text_path  # extracted again: the same text
        assert stats.get_value("extract/ok") == 2
        assert stats.get_value("extract/worker_restarts") is None
    with open_catalogue(database_url)() as session:
        assert len(session.scalars(select(Document)).all()) == 1
        assert session.scalar(select(FrontierEntry.done_at).where(FrontierEntry.url == url))


def test_a_page_that_hangs_its_worker_is_retried_alone_then_recorded(tmp_path: Path) -> None:
    url, body, _ = one_article()
    # a pattern that backtracks for ever on any paragraph: the worker hangs on this page
    hanging = vov_spider(drop_paragraphs=("(.+)+\x00",))
    with pipeline_of(tmp_path, hanging, EXTRACT_TIMEOUT=1) as (pipeline, archive, database_url):
        async def crawl() -> ExtractedArticle:
            archive.remember([Discovered(url)])
            return await pipeline.process_item(fetched(archive, url, body))

        done = asyncio.run(crawl())
        stats = pipeline.crawler.stats
        assert (done.text_path, done.failure) == (None, "timeout")
        assert stats.get_value("extract/timeouts") == 2  # in the pool, then alone
        assert stats.get_value("extract/worker_restarts") == 2
        assert stats.get_value("extract/failed/timeout") == 1
    with open_catalogue(database_url)() as session:
        assert session.scalars(select(ExtractionFailure.reason)).all() == ["timeout"]
        assert session.scalar(select(FrontierEntry.done_at).where(FrontierEntry.url == url))


def test_extraction_workers_run_nicer_than_the_crawl(tmp_path: Path) -> None:
    """EXTRACT_NICENESS: the workers yield the CPU to the reactor every page waits on."""
    url, body, gold = one_article()
    crawl = psutil.Process()
    with pipeline_of(tmp_path, vov_spider(), EXTRACT_NICENESS=3) as (pipeline, archive, _):
        async def crawl_once() -> ExtractedArticle:
            archive.remember([Discovered(url)])
            return await pipeline.process_item(fetched(archive, url, body))

        done = asyncio.run(crawl_once())
        assert (tmp_path / "text" / str(done.text_path)).read_text("utf-8") == gold
        assert crawl.nice() + 3 in worker_niceness(crawl)


def worker_niceness(crawl: psutil.Process) -> set[int]:
    """The niceness of the forkserver's children (extraction workers, of this pipeline and of
    earlier ones not yet gone)."""
    found = set()
    for process in crawl.children(recursive=True):
        try:
            if process.ppid() != crawl.pid:
                found.add(process.nice())
        except psutil.NoSuchProcess:
            continue
    return found


def test_a_negative_niceness_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Unusable, match="EXTRACT_NICENESS=-5"), \
            pipeline_of(tmp_path, vov_spider(), EXTRACT_NICENESS=-5):
        pass
