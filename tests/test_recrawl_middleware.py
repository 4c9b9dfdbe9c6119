"""RecrawlMiddleware built as Scrapy builds it (get_crawler), on a real SQLite catalogue:
what it drops, what it sends conditionally, what it counts, what it puts in the frontier."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from sqlalchemy import event

from crawler.archive import Archive
from crawler.extensions.runlock import RunLifecycle
from crawler.middlewares.recrawl import DECIDE_NOW, RecrawlMiddleware
from crawler.spiderloader import ProfileSpiderLoader
from storage.catalogue import frontier, repository
from storage.catalogue.frontier import FetchFailure
from storage.catalogue.repository import NewCapture

PROJECT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC)
FETCHED = NOW - timedelta(days=2)
ETAG = '"v1"'


def url(name: str) -> str:
    return f"https://vov.vn/xa-hoi/{name}-post1.vov"


@pytest.fixture
def make_crawler(tmp_path: Path) -> Iterator[Callable[..., Crawler]]:
    """A crawler of the vov spider on a fresh catalogue, built as Scrapy builds one."""
    made: list[Crawler] = []

    def make(**settings: Any) -> Crawler:
        settings = {"WARC_DIR": str(tmp_path / "warc"), "EXTRACT_TEXT_DIR": str(tmp_path / "text"),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'archive.sqlite3'}",
                    "WARC_MAX_SIZE": 1 << 30,
                    "PROFILES_DIR": str(PROJECT / "settings" / "sites"), **settings}
        spidercls = ProfileSpiderLoader(Settings(settings)).load("vov")
        crawler = get_crawler(spidercls, settings)
        crawler.spider = spidercls.from_crawler(crawler)
        RunLifecycle.from_crawler(crawler)  # the run row and the site's lock, as Scrapy builds it
        made.append(crawler)
        return crawler
    yield make
    for crawler in made:
        Archive.of(crawler).close().result(timeout=60)


@pytest.fixture
def crawler(make_crawler: Callable[..., Crawler]) -> Crawler:
    return make_crawler()


def seed(crawler: Crawler, processed: list[str], unprocessed: list[str] = ()) -> None:
    """Captures fetched two days ago; `processed` ones had their page and links recorded."""
    with Archive.of(crawler).sessions.begin() as session:
        repository.insert_captures(session, [
            NewCapture(url=u, warc_type="response", status=200, fetched_at=FETCHED,
                       content_type="text/html", payload_digest="sha1:A", payload_length=1,
                       warc_file="f.warc.gz", warc_offset=10 * n, warc_length=10,
                       warc_record_id=f"<urn:uuid:{n}>", etag=ETAG)
            for n, u in enumerate([*processed, *unprocessed])])
        frontier.mark_done(session, "vov", processed, FETCHED + timedelta(minutes=1))


def article(link: str, **meta: Any) -> Request:
    return Request(link, meta={"kind": "article", "lastmod": None, "listed_in": None, **meta})


def hub(link: str) -> Request:
    return Request(link, meta={"kind": "hub"})


def through(middleware: RecrawlMiddleware, outputs: list[Any]) -> list[Any]:
    """What the middleware passes on from a callback's outputs."""
    async def callback() -> AsyncIterator[Any]:
        for output in outputs:
            yield output

    async def run() -> list[Any]:
        response = HtmlResponse("https://vov.vn/", body=b"<html></html>")
        return [out async for out in middleware.process_spider_output(response, callback())]
    return asyncio.run(run())


def pending(crawler: Crawler) -> set[str]:
    archive = Archive.of(crawler)
    archive.remember([]).result(timeout=60)  # committed after every write queued before it
    with archive.sessions() as session:
        return {d.url for d in frontier.pending(session, "vov", NOW + timedelta(days=1))}


def test_current_articles_are_dropped_the_rest_fetched_hubs_conditionally(
        crawler: Crawler) -> None:
    current, unfinished, new, changed = url("current"), url("unfinished"), url("new"), url("changed")
    seed(crawler, [current, changed, "https://vov.vn/sitemap.xml"], [unfinished])
    middleware = RecrawlMiddleware.from_crawler(crawler)
    item = {"page": "an item"}
    out = through(middleware, [
        article(current), article(unfinished), article(new), hub("https://vov.vn/sitemap.xml"),
        article(changed, lastmod=NOW - timedelta(hours=1)), DECIDE_NOW, item])

    assert [getattr(o, "url", o) for o in out] == [
        unfinished, new, "https://vov.vn/sitemap.xml", changed, item]  # DECIDE_NOW is not passed on
    by_url = {o.url: o for o in out if isinstance(o, Request)}
    assert [by_url[u].meta["reason"] for u in (unfinished, new, changed)] == [
        "unfinished", "new", "lastmod"]
    assert by_url["https://vov.vn/sitemap.xml"].headers.get("If-None-Match") == ETAG.encode()
    assert by_url[changed].headers.get("If-None-Match") == ETAG.encode()
    assert by_url[new].meta["last_capture"] is None and not by_url[new].headers.get("If-None-Match")
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("recrawl/")} == {
        "recrawl/decision/unchanged": 1, "recrawl/decision/unfinished": 1,
        "recrawl/decision/new": 1, "recrawl/decision/lastmod": 1, "recrawl/conditional": 2}
    # what it lets through is in the frontier, pending until the page is processed
    assert pending(crawler) == {unfinished, new, "https://vov.vn/sitemap.xml", changed}


def test_a_url_is_let_through_once_a_run_and_vanished_articles_are_asked_for(
        crawler: Crawler) -> None:
    current, new = url("current"), url("new")
    seed(crawler, [current])
    middleware = RecrawlMiddleware.from_crawler(crawler)
    assert [r.url for r in through(middleware, [article(new), article(new)])] == [new]
    assert through(middleware, [article(new)]) == []  # already asked for this run
    out = through(middleware, [article(current, recrawl="vanished")])
    assert [r.url for r in out] == [current] and out[0].headers.get("If-None-Match") == ETAG.encode()
    assert crawler.stats.get_value("recrawl/vanished_from_sitemap") == 1
    assert crawler.stats.get_value("recrawl/decision/new") == 1


def test_the_meta_opt_out_passes_a_request_untouched(crawler: Crawler) -> None:
    current = url("current")
    seed(crawler, [current])
    middleware = RecrawlMiddleware.from_crawler(crawler)
    out = through(middleware, [article(current, recrawl=False)])
    assert [r.url for r in out] == [current]
    assert "last_capture" not in out[0].meta and "reason" not in out[0].meta
    assert not out[0].headers.get("If-None-Match")
    assert crawler.stats.get_value("recrawl/opted_out") == 1
    assert not any(k.startswith("recrawl/decision/") for k in crawler.stats.get_stats())
    assert pending(crawler) == set()  # nor is it put in the frontier


def test_recrawl_disabled_fetches_whole_but_failing_urls_still_back_off(
        make_crawler: Callable[..., Crawler]) -> None:
    crawler = make_crawler(RECRAWL_ENABLED=False)
    current, failing = url("current"), url("failing")
    seed(crawler, [current, "https://vov.vn/sitemap.xml"])
    with Archive.of(crawler).sessions.begin() as session:
        frontier.record_failures(session, "vov", [FetchFailure(failing, "http_503", True)],
                                   NOW, frontier.Backoff())
    middleware = RecrawlMiddleware.from_crawler(crawler)
    out = through(middleware, [article(current), article(failing), hub("https://vov.vn/sitemap.xml")])
    assert [r.url for r in out] == [current, "https://vov.vn/sitemap.xml"]
    assert out[0].meta["reason"] == "forced"
    assert not any(r.headers.get("If-None-Match") for r in out)
    assert crawler.stats.get_value("recrawl/decision/backoff") == 1
    assert crawler.stats.get_value("recrawl/conditional") is None


def test_one_query_per_batch_on_the_reader_thread(crawler: Crawler) -> None:
    links = [url(f"a{n}") for n in range(300)]
    seed(crawler, links[:150])
    middleware = RecrawlMiddleware.from_crawler(crawler)
    queries: list[tuple[str, str]] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            queries.append((threading.current_thread().name, statement))
    engine = Archive.of(crawler).sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        first = through(middleware, [article(link) for link in links[:200]])
        second = through(middleware, [article(link) for link in links[200:]])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r.url for r in first + second] == links[150:]
    # the failing URLs once a run, then the last captures once per batch; never the reactor's
    assert len(queries) == 1 + 2
    assert all(thread.startswith("catalogue-reader") for thread, _ in queries)


def test_a_sitemaps_thousands_are_decided_in_bounded_batches(crawler: Crawler,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """However many requests a callback yields in a row, at most DECIDE_AT_MOST are held
    (and looked up) at once; each is decided once, in order."""
    monkeypatch.setattr("crawler.middlewares.recrawl.DECIDE_AT_MOST", 40)
    links = [url(f"a{n}") for n in range(100)]
    seed(crawler, links[:10])
    middleware = RecrawlMiddleware.from_crawler(crawler)
    sizes: list[int] = []
    decide = middleware.decide

    async def decide_counting(batch: list[Request]) -> list[Request]:
        sizes.append(len(batch))
        return await decide(batch)
    monkeypatch.setattr(middleware, "decide", decide_counting)
    passed = through(middleware, [article(link) for link in links])
    assert [r.url for r in passed] == links[10:]
    assert sizes[:3] == [40, 40, 20] and not any(sizes[3:])


def test_a_page_this_run_fetched_and_is_still_processing_is_not_asked_for_again(
        crawler: Crawler) -> None:
    """On a long crawl the memory of URLs let through forgets (it is bounded): a link to an
    article this run fetched, whose page is not filed yet, must not be let through again
    (it would be queued as pending in the frontier after its page's done mark, and
    fetched again by the next run)."""
    link = url("in-flight")
    middleware = RecrawlMiddleware.from_crawler(crawler)
    assert [r.url for r in through(middleware, [article(link)])] == [link]
    with Archive.of(crawler).sessions.begin() as session:  # fetched now, its page in the pipeline
        repository.insert_captures(session, [NewCapture(
            url=link, warc_type="response", status=200, fetched_at=datetime.now(UTC),
            content_type="text/html", payload_digest="sha1:B", payload_length=1,
            warc_file="f.warc.gz", warc_offset=0, warc_length=10,
            warc_record_id="<urn:uuid:in-flight>")])
    middleware.requested.clear()  # forgotten, as on a long crawl

    assert through(middleware, [article(link)]) == []
    assert crawler.stats.get_value("recrawl/decision/in_progress") == 1
