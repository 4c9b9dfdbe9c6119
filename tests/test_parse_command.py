"""`scrapy parse --spider <site> URL`: the page goes to the callback its profile gives it,
and only that URL is fetched (robots.txt aside), never the rest of the site."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture
from tests.crawl import FAST, scrapy
from tests.sample_site import SampleSite

OPTIONS = [arg for name, value in FAST.items() for arg in ("-s", f"{name}={value}")]


def parse(base_url: str, path: str, data_dir: Path) -> str:
    done = scrapy("parse", "--spider", "vov", "-a", f"origin={base_url}", *OPTIONS,
                  base_url + path, data_dir=data_dir)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "NotImplementedError" not in done.stderr, done.stderr[-3000:]
    return done.stdout


def archived(data_dir: Path) -> set[str]:
    with open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")() as session:
        return set(session.scalars(select(Capture.url)))


def test_an_article_is_parsed_as_one_and_nothing_else_is_fetched(
        site: SampleSite, base_url: str, tmp_path: Path) -> None:
    path = site.paths_by_role()["common"][0]
    site.clear_requests()
    output = parse(base_url, path, tmp_path)
    assert f"'url': '{base_url + path}'" in output  # the ArticlePage item
    assert {r.target for r in site.requests} == {"/robots.txt", path}
    assert archived(tmp_path) == {base_url + "/robots.txt", base_url + path}


@pytest.mark.parametrize("path", ["/the-gioi", "/sitemap.xml"])
def test_a_hub_goes_to_its_own_callback_and_its_links_are_only_listed(
        site: SampleSite, base_url: str, tmp_path: Path, path: str) -> None:
    site.clear_requests()
    output = parse(base_url, path, tmp_path)
    requests = output.split("# Requests", 1)[1]
    assert f"<GET {base_url}/" in requests  # what it leads to is shown, not fetched
    assert {r.target for r in site.requests} == {"/robots.txt", path}
    assert archived(tmp_path) == {base_url + "/robots.txt", base_url + path}
