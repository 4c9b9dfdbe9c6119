"""Article photos: archived once each through the normal request path, never again; a photo
on a host the profile does not list is not fetched; a failing one backs off; they can be
turned off. Real crawls of the sample site, whose article photos live on https://media.vov.vn
and are served by the mirror at the same paths."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from crawler.profiles import ProfileError, SiteProfile, load_profiles, profile_folder
from crawler.spiders.news import photos_enabled
from settings import project
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun, Document, FrontierEntry
from storage.warc.reader import read_capture
from tests.crawl import CrawlResult, check_archive, crawl
from tests.sample_site import SampleSite, serve
from tests.sample_site.images import jpeg

pytestmark = pytest.mark.slow
SITES = profile_folder(project.PROFILES_DIR)
PHOTO_PREFIX = "/sites/default/files/"


def photo_requests(site: SampleSite) -> Counter[tuple[str, int]]:
    return Counter((r.path, r.status) for r in site.requests if r.path.startswith(PHOTO_PREFIX))


def last_run_stats(result: CrawlResult) -> dict[str, int]:
    with open_catalogue(result.database_url)() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.status == "finished"
        return run.stats or {}


def photo_stats(result: CrawlResult) -> dict[str, int]:
    return {k: v for k, v in last_run_stats(result).items() if k.startswith("photos/")}


def ok(result: CrawlResult) -> CrawlResult:
    assert result.returncode == 0, result.log[-5000:]
    return result


# ---- a first crawl, then a run that fetches every article again ----------------------------


@pytest.fixture(scope="module")
def first(site: SampleSite, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> CrawlResult:
    site.clear_requests()
    return ok(crawl(base_url, tmp_path_factory.mktemp("photos")))


@pytest.fixture(scope="module")
def first_requests(site: SampleSite, first: CrawlResult) -> Counter[tuple[str, int]]:
    return photo_requests(site)


@pytest.fixture(scope="module")
def again(site: SampleSite, base_url: str, first: CrawlResult,
          first_requests: Counter[tuple[str, int]]) -> tuple[CrawlResult, Counter[tuple[str, int]], set[str]]:
    """Every article fetched whole again (RECRAWL_ENABLED=False), one of them changed: each
    names its photo again, and none is fetched."""
    site.change_article(next(iter(site.photos())))
    site.clear_requests()
    done = ok(crawl(base_url, first.data_dir, settings={"RECRAWL_ENABLED": "False"}))
    return done, photo_requests(site), {r.path for r in site.requests if r.status == 200}


def test_every_article_photo_is_fetched_once(site: SampleSite,
                                             first_requests: Counter[tuple[str, int]]) -> None:
    photos = set(site.photos().values())
    assert len(photos) >= 10  # the sample site: most articles show one photo in their body
    assert first_requests == Counter({(path, 200): 1 for path in photos})


def test_photos_are_ordinary_response_captures(site: SampleSite, base_url: str,
                                               first: CrawlResult) -> None:
    check_archive(first.data_dir, first.database_url)
    photos = set(site.photos().values())
    with open_catalogue(first.database_url)() as session:
        captures = session.scalars(select(Capture).where(Capture.content_type == "image/jpeg")).all()
        documents = session.scalars(select(Document.url)).all()
    assert {urlsplit(c.url).path for c in captures} == photos
    for capture in captures:
        # captured under the URL fetched: in a mirror crawl, the origin's, as the pages are
        assert capture.url == base_url + urlsplit(capture.url).path
        assert (capture.warc_type, capture.status) == ("response", 200)
        assert capture.etag and capture.last_modified
        record = read_capture(first.data_dir / "warc", capture.warc_file, capture.warc_offset,
                              capture.warc_length)
        assert record.payload == jpeg(urlsplit(capture.url).path)
    assert not [url for url in documents if url.startswith(base_url + PHOTO_PREFIX)]


def test_photo_stats_and_frontier(site: SampleSite, first: CrawlResult) -> None:
    photos = len(site.photos())
    stats = photo_stats(first)
    assert stats["photos/found"] == stats["photos/requested"] == stats["photos/archived"] == photos
    assert "photos/failed" not in stats and "photos/refused_host" not in stats
    with open_catalogue(first.database_url)() as session:
        rows = session.scalars(select(FrontierEntry).where(FrontierEntry.kind == "photo")).all()
    assert len(rows) == photos and all(row.done_at is not None for row in rows)


def test_an_archived_photo_is_never_fetched_again(
        site: SampleSite, again: tuple[CrawlResult, Counter[tuple[str, int]], set[str]]) -> None:
    done, requests, fetched = again
    assert requests == Counter()
    # every article the run fetched again named its photo (listing pages are read only
    # while they list something new: articles only deep in a listing are not fetched again)
    named = [photo for article, photo in site.photos().items() if article in fetched]
    assert len(named) >= len(site.photos()) - 3
    stats = photo_stats(done)
    assert stats["photos/skipped_known"] == stats["photos/found"] == len(named)
    assert "photos/requested" not in stats
    check_archive(done.data_dir, done.database_url)


# ---- switched off, and hosts not listed ----------------------------------------------------


def profile_dir(tmp_path: Path, old: str, new: str) -> str:
    """The vov profile with one change, as a profiles folder of its own."""
    text = (SITES / "vov.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "vov.toml").write_text(text.replace(old, new), encoding="utf-8")
    return str(tmp_path / "profiles")


@pytest.mark.parametrize("how", ["setting", "profile"])
def test_photos_switched_off_fetches_none(tmp_path: Path, how: str) -> None:
    site = SampleSite(n_articles=6)
    settings = {"PHOTOS_ENABLED": "False"} if how == "setting" else \
        {"PROFILES_DIR": profile_dir(tmp_path, "enabled = true", "enabled = false")}
    with serve(site) as base_url:
        done = ok(crawl(base_url, tmp_path / "data", settings=settings))
    assert site.photos() and photo_requests(site) == Counter()
    assert photo_stats(done) == {}
    assert last_run_stats(done)["extract/ok"] == len(site.gold_texts())


def test_a_photo_on_a_host_not_listed_is_not_fetched(tmp_path: Path) -> None:
    site = SampleSite(n_articles=6)
    settings = {"PROFILES_DIR": profile_dir(tmp_path, 'hosts = ["media.vov.vn"]', "hosts = []")}
    with serve(site) as base_url:
        done = ok(crawl(base_url, tmp_path / "data", settings=settings))
    assert photo_requests(site) == Counter()
    assert photo_stats(done) == {"photos/refused_host": len(site.photos())}


# ---- a photo that fails ---------------------------------------------------------------------


def test_a_missing_photo_backs_off_then_is_taken_up(tmp_path: Path) -> None:
    site = SampleSite(n_articles=6)
    missing = next(iter(site.photos().values()))
    site.withhold(missing)
    data = tmp_path / "data"
    with serve(site) as base_url:
        first = ok(crawl(base_url, data))
        assert photo_requests(site)[(missing, 404)] == 1
        assert photo_stats(first)["photos/failed"] == 1
        url = base_url + missing
        with open_catalogue(first.database_url)() as session:
            entry = session.scalars(select(FrontierEntry).where(FrontierEntry.url == url)).one()
            statuses = session.scalars(select(Capture.status).where(Capture.url == url)).all()
        assert statuses == [404]  # archived as it came
        assert (entry.kind, entry.attempts, entry.last_error) == ("photo", 1, "http_404")
        assert entry.done_at is None and entry.gave_up_at is None
        assert entry.retry_at > datetime.now(UTC) + timedelta(minutes=20)

        # backing off: named again by its (refetched) article, not fetched
        site.clear_requests()
        second = ok(crawl(base_url, data, settings={"RECRAWL_ENABLED": "False"}))
        assert photo_requests(site) == Counter()
        assert photo_stats(second)["photos/skipped_backoff"] == 1

        # its back-off over, the next run takes it up from the frontier (its article unchanged)
        with open_catalogue(first.database_url)() as session:
            session.execute(update(FrontierEntry).where(FrontierEntry.url == url)
                            .values(retry_at=datetime.now(UTC) - timedelta(minutes=1)))
            session.commit()
        site.restore(missing)
        site.clear_requests()
        third = ok(crawl(base_url, data))
        assert photo_requests(site) == Counter({(missing, 200): 1})
        assert photo_stats(third) == {"photos/requested": 1, "photos/archived": 1}
    with open_catalogue(first.database_url)() as session:
        entry = session.scalars(select(FrontierEntry).where(FrontierEntry.url == url)).one()
    assert entry.done_at is not None and entry.attempts == 0 and entry.last_error is None
    check_archive(data, first.database_url)


def test_a_photo_failing_too_often_is_given_up(tmp_path: Path) -> None:
    site = SampleSite(n_articles=4)
    missing = next(iter(site.photos().values()))
    site.withhold(missing)
    with serve(site) as base_url:
        ok(crawl(base_url, tmp_path / "data", settings={"RECRAWL_GIVE_UP_AFTER": "1"}))
        assert photo_requests(site)[(missing, 404)] == 1
        site.clear_requests()
        done = ok(crawl(base_url, tmp_path / "data", settings={"RECRAWL_ENABLED": "False"}))
        assert photo_requests(site) == Counter()
        assert photo_stats(done)["photos/skipped_given_up"] == 1
    with open_catalogue(done.database_url)() as session:
        entry = session.scalars(select(FrontierEntry).where(
            FrontierEntry.url == base_url + missing)).one()
    assert entry.gave_up_at is not None and entry.last_error == "http_404"


# ---- the profile ---------------------------------------------------------------------------


def test_photo_urls_follow_the_profile_hosts() -> None:
    vov = load_profiles(SITES)["vov"]
    assert vov.photo_url("https://media.vov.vn/a/b.jpg?utm_source=x") == "https://media.vov.vn/a/b.jpg"
    assert vov.photo_url("https://www.vov.vn/a.png") == "https://vov.vn/a.png"
    assert vov.photo_url("https://cdn.example.com/a.jpg") is None
    assert vov.photo_url("data:image/png;base64,AAAA") is None
    mirror = vov.at_origin("http://127.0.0.1:8080")
    assert mirror.photo_url("https://media.vov.vn/a/b.jpg") == "http://127.0.0.1:8080/a/b.jpg"
    assert mirror.photo_url("https://cdn.example.com/a.jpg") is None


def test_the_setting_overrides_the_profile() -> None:
    from scrapy.settings import Settings

    vov = load_profiles(SITES)["vov"]
    assert photos_enabled(Settings(), vov) is True
    assert photos_enabled(Settings({"PHOTOS_ENABLED": "False"}), vov) is False
    off = SiteProfile.from_dict({"name": "x", "origin": "https://x.vn", "hosts": ["x.vn"],
                                 "photos": {"enabled": False}})
    assert photos_enabled(Settings(), off) is False
    assert photos_enabled(Settings({"PHOTOS_ENABLED": "True"}), off) is True


@pytest.mark.parametrize(("photos", "message"), [
    ('hosts = ["https://media.x.vn"]', "not a lower-case host name"),
    ('hosts = ["Media.x.vn"]', "not a lower-case host name"),
    ('hosts = "media.x.vn"', "must be a list"),
    ('enabled = "yes"', "true or false"),
    ("fetch = true", "unknown keys"),
])
def test_bad_photo_settings_get_clear_errors(tmp_path: Path, photos: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(f'name = "x"\norigin = "https://x.vn"\nhosts = ["x.vn"]\n[photos]\n{photos}\n',
                    encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        SiteProfile.load(path)


def test_the_photo_policy_ignores_recrawl_settings() -> None:
    from crawler.middlewares.recrawl import RecrawlPolicy
    from storage.catalogue.frontier import CaptureState, HeldBack

    now = datetime.now(UTC)

    def state(status: int) -> CaptureState:
        return CaptureState("u", "r", now - timedelta(days=400), status, "d", None, None, None,
                            "r", 1, now, now, None)

    policy = RecrawlPolicy.photo
    assert policy(None).fetch and policy(state(404)).reason == "retry"
    assert [policy(state(s)).reason for s in (200, 304, 301, 302)] == ["known"] * 4  # CDN redirects
    assert policy(state(500)).reason == "retry"
    assert policy(None, HeldBack("http_404", 1, now, None)).reason == "backoff"
    assert policy(state(404), HeldBack("http_404", 5, None, now)).reason == "given_up"
