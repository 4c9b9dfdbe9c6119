"""Scheduled runs of the same site: each fetches only what is new or changed.

Run 1 archives the sample site; run 2, with nothing changed, fetches no article and
its hubs end as 304s or identical-payload revisits; then 5 articles are added, 2
changed and 1 deleted, and run 3 fetches exactly the 5 new and the 2 changed ones and
records the deleted one as gone, keeping both versions of each changed article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Article, Capture, CrawlRun, Document
from tests.catalogue_queries import latest_documents
from tests.crawl import CrawlResult, check_archive, crawl, scrapy
from tests.sample_site import SampleSite, serve
from tests.sample_site.site import RequestRecord

pytestmark = pytest.mark.slow
ARTICLE = re.compile(r"^/[a-z0-9-]+/[a-z0-9-]+-(?:post)?\d+\.vov")


@dataclass
class Run:
    result: CrawlResult
    requests: list[RequestRecord]
    gold: dict[str, str]  # the site's gold texts when the run ended

    def article_requests(self) -> dict[str, int]:
        return {r.target: r.status for r in self.requests if ARTICLE.match(r.target)}


@dataclass
class History:
    site: SampleSite
    origin: str
    data_dir: Path
    database_url: str
    runs: dict[int, Run] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: str = ""

    def crawl(self, number: int) -> None:
        self.site.clear_requests()
        result = crawl(self.origin, self.data_dir, self.database_url)
        assert result.returncode == 0, result.log[-4000:]
        self.runs[number] = Run(result, list(self.site.requests), self.site.gold_texts())



@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> History:
    data_dir = tmp_path_factory.mktemp(f"incremental-{request.param}")
    database_url = f"sqlite:///{data_dir / 'archive.sqlite3'}"
    if request.param == "postgresql":
        database_url = request.getfixturevalue("module_postgres_url")
    site = SampleSite(n_articles=30)
    with serve(site) as origin:
        history = History(site, origin, data_dir, database_url)
        history.crawl(1)
        history.crawl(2)
        special = {*site.special.values(), site.redirect_target}
        common = [p for p in site.paths_by_role()["common"] if p not in special]
        history.added = [a.path for a in site.add_articles(5)]
        history.changed = common[:2]
        for path in history.changed:
            site.change_article(path)
        history.deleted = common[2]
        site.delete_article(history.deleted)
        history.crawl(3)
    return history


def run_row(history: History, number: int) -> CrawlRun:
    with open_catalogue(history.database_url)() as session:
        return session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()[number - 1]


def latest_texts(history: History) -> dict[str, str]:
    text_dir = history.data_dir / "text"
    with open_catalogue(history.database_url)() as session:
        return {d.url.removeprefix(history.origin): (text_dir / d.text_path).read_text("utf-8")
                for d in latest_documents(session)}


def test_run_1_archives_every_article(history: History) -> None:
    run = history.runs[1]
    assert run_row(history, 1).new_articles == len(run.gold) + len(history.site.expected_failures())
    assert set(run.article_requests()) >= set(run.gold)


def test_run_2_fetches_no_article_and_its_hubs_are_revisits(history: History) -> None:
    run = history.runs[2]
    retried = {history.site.special["server_error"]}  # a failed page is tried again
    assert set(run.article_requests()) <= retried
    with open_catalogue(history.database_url)() as session:
        captures = session.scalars(select(Capture).where(
            Capture.crawl_run_id == run_row(history, 2).id)).all()
    assert captures
    for capture in captures:
        if capture.url.removeprefix(history.origin) in retried:
            continue
        assert capture.warc_type == "revisit", (capture.url, capture.status)
        assert capture.revisit_profile in {"server-not-modified", "identical-payload-digest"}
    profiles = {c.revisit_profile for c in captures}
    assert "server-not-modified" in profiles  # conditional requests were made and honoured
    row = run_row(history, 2)
    assert (row.new_articles, row.changed_articles, row.gone_articles) == (0, 0, 0)


def test_run_3_fetches_exactly_the_new_and_changed_articles(history: History) -> None:
    run = history.runs[3]
    fetched = {path for path, status in run.article_requests().items() if status == 200}
    decisions = {k: v for k, v in (run_row(history, 3).stats or {}).items() if "recrawl" in k}
    assert fetched == set(history.added) | set(history.changed), decisions
    assert run.article_requests()[history.deleted] == 404
    row = run_row(history, 3)
    assert (row.new_articles, row.changed_articles, row.gone_articles) == (5, 2, 1)


def test_texts_hold_the_newest_versions_and_the_catalogue_keeps_every_version(
        history: History) -> None:
    texts = latest_texts(history)
    gold = history.runs[3].gold
    assert {path: texts[path] for path in gold} == gold
    with open_catalogue(history.database_url)() as session:
        for path in history.changed:
            versions = session.scalars(select(Document).where(
                Document.url == history.origin + path).order_by(Document.id)).all()
            assert len(versions) == 2
            assert versions[0].text_sha1 != versions[1].text_sha1
            assert versions[0].text_path == versions[1].text_path  # same file, newest text
        gone = session.scalar(select(Article).where(Article.url == history.origin + history.deleted))
        assert gone is not None and gone.gone_at is not None
        assert texts[history.deleted] == history.runs[1].gold[history.deleted]  # copies stay


def test_no_article_is_stored_twice_unless_it_changed(history: History) -> None:
    with open_catalogue(history.database_url)() as session:
        rows = session.execute(select(Capture.url, Capture.warc_type, Capture.status)).all()
    full: dict[str, int] = {}
    for url, warc_type, status in rows:
        if warc_type == "response" and status == 200 and ARTICLE.match(url.removeprefix(
                history.origin)):
            full[url] = full.get(url, 0) + 1
    changed = {history.origin + path for path in history.changed}
    assert {url for url, n in full.items() if n > 1} == changed
    assert check_archive(history.data_dir, history.database_url) == len(rows)


def test_versions_lists_both_versions_and_diffs_them(history: History) -> None:
    path = history.changed[0]
    done = scrapy("versions", history.origin + path, "--diff", data_dir=history.data_dir,
                  database_url=history.database_url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len([line for line in lines if re.match(r"^\s+\d+\s+fetched ", line)]) == 2
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    removed = [line for line in lines if line.startswith("-") and not line.startswith("---")]
    def paragraphs(text: str) -> set[str]:
        return {paragraph.strip() for paragraph in text.split("\n\n")}

    new = paragraphs(history.runs[3].gold[path]) - paragraphs(history.runs[1].gold[path])
    assert new and {line.strip() for line in added if line.strip()} == new
    assert not removed
