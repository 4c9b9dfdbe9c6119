"""A hostile or merely odd server never stops a run: each odd page fails on its own, with
its reason recorded, and every other article still gets its text (issue: hold up on the
real web). The crawl runs against tests.hostile_site, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun, ExtractionFailure, FrontierEntry
from tests import hostile_site as odd
from tests.catalogue_queries import latest_documents
from tests.crawl import CrawlResult, check_archive, crawl, scrapy
from tests.hostile_site import HostileSite
from tests.sample_site import serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> HostileSite:
    return HostileSite()


@pytest.fixture(scope="module")
def origin(site: HostileSite):  # type: ignore[no-untyped-def]
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def first(request: pytest.FixtureRequest, origin: str, site: HostileSite,
          tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    data_dir = tmp_path_factory.mktemp(f"hostile-{request.param}")
    database_url = request.getfixturevalue("module_postgres_url") \
        if request.param == "postgresql" else None
    site.clear_requests()
    done = crawl(origin, data_dir, database_url)
    assert done.returncode == 0, done.log[-5000:]
    return done


def frontier(result: CrawlResult, origin: str) -> dict[str, FrontierEntry]:
    with open_catalogue(result.database_url)() as session:
        return {e.url.removeprefix(origin): e for e in session.scalars(select(FrontierEntry))}


def captures(result: CrawlResult, origin: str) -> dict[str, Capture]:
    with open_catalogue(result.database_url)() as session:
        return {c.url.removeprefix(origin): c for c in session.scalars(select(Capture))}


def test_every_other_article_gets_its_text_and_the_archive_holds(
        first: CrawlResult, origin: str, site: HostileSite) -> None:
    with open_catalogue(first.database_url)() as session:
        texts = {d.url.removeprefix(origin): (first.data_dir / "text" / d.text_path).read_text()
                 for d in latest_documents(session)}
    gold = site.gold_texts()
    assert {path: texts.get(path) for path in gold} == gold
    for copy in odd.COPIES:  # odd headers, odd sitemap dates, a script redirect's target
        assert texts[copy] == gold[site.copied.path], copy
    assert not {odd.CHALLENGE, odd.STATUS_1000, odd.BOMB, odd.SCRIPT_REDIRECT} & set(texts)
    assert check_archive(first.data_dir, first.database_url) > 0


def test_each_odd_page_fails_on_its_own_with_its_reason(first: CrawlResult, origin: str) -> None:
    entries = frontier(first, origin)
    backing_off = {path: entries[path].last_error for path in
                   (odd.STATUS_1000, odd.STATUS_099, odd.CHALLENGE, odd.FAILING_TARGET)}
    assert backing_off == {odd.STATUS_1000: "http_1000", odd.STATUS_099: "http_99",
                           odd.CHALLENGE: "blocked", odd.FAILING_TARGET: "http_503"}
    for path in backing_off:
        entry = entries[path]
        assert (entry.attempts, entry.done_at, entry.gave_up_at) == (1, None, None)
        assert entry.retry_at is not None
    given_up = {path: entries[path].last_error for path in
                (odd.LONG_REDIRECT, odd.BOMB, odd.OFF_ORIGIN)}
    assert given_up == {odd.LONG_REDIRECT: "url_too_long", odd.BOMB: "too_large",
                        odd.OFF_ORIGIN: "off_origin"}
    assert all(entries[path].gave_up_at is not None for path in given_up)
    # never in the frontier: an over-long link, the real site's hosts
    assert not [url for url in entries if "lien-ket-dai" in url or "vov.vn" in url]
    assert entries[odd.SCRIPT_REDIRECT].done_at is not None  # followed like a meta refresh
    redirect = entries[odd.REDIRECT_TO_FAILING]  # archived and done: the target failed, not it
    assert (redirect.last_error, redirect.done_at is not None) == (None, True)


def test_what_the_catalogue_cannot_hold_is_normalised_and_the_record_keeps_it(
        first: CrawlResult, origin: str) -> None:
    rows = captures(first, origin)
    weird = rows[odd.STATUS_1000]
    assert weird.status == 0 and "1000" in weird.problems["status"]
    headers = rows[odd.ODD_HEADERS]
    assert set(headers.problems) == {"content_type", "etag", "last_modified"}
    assert len(headers.content_type) == 255
    assert rows[odd.CHALLENGE].blocked == "bot challenge (_jsc_ch_conf)"
    for path in odd.IN_ODD_SITEMAP:  # 9999-12-31 and 0001-01-01 were refused, not stored
        assert rows[path].source_lastmod is None
    with open_catalogue(first.database_url)() as session:
        run = session.scalars(select(CrawlRun)).one()
    assert run.status == "finished"
    assert run.stats["discovery/refused_dates"] >= 2 + len(odd.IN_FEED)
    assert run.stats["discovery/refused/url_too_long"] == 1


def test_later_runs_back_off_then_try_again_and_never_stop_on_them(
        first: CrawlResult, origin: str, site: HostileSite) -> None:
    site.clear_requests()
    second = crawl(origin, first.data_dir, first.database_url)
    assert second.returncode == 0, second.log[-3000:]
    asked = {request.path for request in site.requests}
    assert not asked & {odd.STATUS_1000, odd.CHALLENGE, odd.BOMB, odd.LONG_REDIRECT,
                        odd.OFF_ORIGIN, odd.FAILING_TARGET}, \
        "a failing URL was asked for again before its time"

    with open_catalogue(first.database_url).begin() as session:  # their back-off has passed
        session.execute(update(FrontierEntry).where(FrontierEntry.retry_at.isnot(None))
                        .values(retry_at=datetime.now(UTC) - timedelta(seconds=1)))
    site.clear_requests()
    third = crawl(origin, first.data_dir, first.database_url)
    assert third.returncode == 0, third.log[-3000:]
    asked = {request.path for request in site.requests}
    assert {odd.STATUS_1000, odd.CHALLENGE, odd.FAILING_TARGET} <= asked  # due: tried again
    assert not asked & {odd.BOMB, odd.LONG_REDIRECT}  # given up: never again
    entries = frontier(third, origin)
    assert entries[odd.STATUS_1000].attempts == entries[odd.FAILING_TARGET].attempts == 2
    check_archive(third.data_dir, third.database_url)


def test_only_a_challenge_is_a_challenge() -> None:
    from crawler.challenges import Blocking
    blocking = Blocking()
    ordinary = (b"<html><head><script src='/cdn-cgi/challenge-platform/scripts/jsd/main.js'>"
                b"</script></head><body><p>A page about the DDoS-Guard and Sucuri Website "
                b"Firewall products.</p></body></html>")
    assert blocking.marker_in(ordinary) is None  # what a CDN injects into every page
    assert blocking.marker_in(odd.SYNTHETIC_CHALLENGE) == "_jsc_ch_conf"
    assert blocking.marker_in(odd.SYNTHETIC_CHALLENGE, status=404) is None
    assert blocking.marker_in(odd.SYNTHETIC_CHALLENGE, status=503) == "_jsc_ch_conf"
    assert blocking.marker_in(odd.SYNTHETIC_CHALLENGE + b" " * 200_000) is None  # a page


def test_the_challenge_page_vov_vn_really_sends_is_recognised() -> None:
    real = odd.real_challenge(Path(__file__).resolve().parents[2] / "shared" / "data")
    if real is None:
        pytest.skip("../shared/data/vov-real/bot-challenge.html is not here")
    from crawler.challenges import Blocking
    from crawler.middlewares.jsredirect import script_redirect_target
    assert Blocking().marker_in(real) == "_jsc_ch_conf"
    assert script_redirect_target(real) is None  # it builds its URL in script: not followed


def test_summary_lists_the_failing_urls_with_their_reasons(first: CrawlResult) -> None:
    done = scrapy("summary", "--run", "1", data_dir=first.data_dir,
                  database_url=first.database_url)
    assert done.returncode == 0, done.stderr
    assert "bot challenges       1" in done.stdout
    failing = next(line for line in done.stdout.splitlines() if "URLs failing" in line)
    assert "http_1000: 1" in failing and "blocked: 1" in failing and "too_large: 1" in failing
    assert odd.STATUS_1000 in done.stdout


def test_reextract_never_takes_a_challenge_for_its_page(first: CrawlResult, origin: str) -> None:
    done = scrapy("reextract", data_dir=first.data_dir, database_url=first.database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    with open_catalogue(first.database_url)() as session:
        documents = {d.url.removeprefix(origin) for d in latest_documents(session)}
        tried = {f.url.removeprefix(origin) for f in session.scalars(select(ExtractionFailure))}
    assert odd.CHALLENGE not in documents | tried  # not even tried: it is not the page
