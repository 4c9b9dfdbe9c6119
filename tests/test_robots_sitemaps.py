"""Sitemaps named only by robots.txt are fetched even when every other seed of the site fails:
they wait for a callback to pass through the recrawl middleware, and when none comes the
middleware takes them up at spider_idle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.profiles import profile_folder
from settings.project import PROFILES_DIR
from tests.crawl import crawl
from tests.sample_site import SampleSite

pytestmark = pytest.mark.slow


def failing_seeds_profile(folder: Path) -> Path:
    """The vov profile with every seed of its own pointing at a page the site does not have."""
    text = (profile_folder(PROFILES_DIR) / "vov.toml").read_text(encoding="utf-8")
    for key, value in [("sitemaps", '["/khong-co/sitemap.xml"]'), ("feeds", '["/khong-co.rss"]'),
                       ("monthly_sitemap", '"/khong-co/{year}/{month}.xml"')]:
        text = re.sub(rf"^{key} = .*$", f"{key} = {value}", text, count=1, flags=re.M)
    text = re.sub(r"^categories = \[.*?\]", 'categories = ["/khong-co"]', text, count=1,
                  flags=re.M | re.S)
    folder.mkdir()
    (folder / "vov.toml").write_text(text)
    return folder


def test_robots_sitemaps_are_fetched_when_every_seed_fails(
        site: SampleSite, base_url: str, tmp_path: Path) -> None:
    profiles = failing_seeds_profile(tmp_path / "sites")
    site.clear_requests()
    result = crawl(base_url, tmp_path / "data", settings={"PROFILES_DIR": str(profiles)})
    assert result.returncode == 0, result.log[-3000:]
    fetched = {request.target for request in site.requests}
    assert {"/khong-co/sitemap.xml", "/khong-co.rss", "/khong-co"} <= fetched  # the seeds failed
    assert "/sitemap.xml" in fetched, sorted(fetched)  # named by robots.txt only
    assert any(target.endswith(".vov") for target in fetched)  # and followed to the articles
