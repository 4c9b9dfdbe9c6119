"""Site profiles: URL rules, mirrors, and clear errors for bad profile files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.profiles import ProfileError, SiteProfile, load_profiles, profile_folder
from crawler.spiderloader import ProfileSpiderLoader
from settings import project

SITES = profile_folder(project.PROFILES_DIR)


@pytest.fixture(scope="module")
def vov() -> SiteProfile:
    return load_profiles(SITES)["vov"]


def test_article_pattern_matches_both_url_generations(vov: SiteProfile) -> None:
    assert vov.is_article("https://vov.vn/the-gioi/nga-va-ukraine-post1182853.vov")
    assert vov.is_article("https://vov.vn/the-gioi/quan-sat/bai-cu-1182853.vov")
    assert not vov.is_article("https://vov.vn/the-gioi")
    assert not vov.is_article("https://vov.vn/tu-khoa/nga-tag123")


@pytest.mark.parametrize("link", [
    "https://vov.vn/print/1182853", "https://vov.vn/tim-kiem?q=nga", "https://vov.vn/lich?date=2024-05-01",
    "https://facebook.com/vov", "mailto:toasoan@vov.vn", "javascript:void(0)",
])
def test_traps_and_foreign_links_are_not_followed(vov: SiteProfile, link: str) -> None:
    assert vov.canonical(link) is None


def test_tracking_parameters_and_fragments_are_stripped(vov: SiteProfile) -> None:
    url = "https://www.vov.vn/the-gioi/a-post1.vov?utm_source=fb&utm_medium=x&fbclid=1&id=2#top"
    assert vov.canonical(url) == "https://vov.vn/the-gioi/a-post1.vov?id=2"


def test_a_mirror_is_crawled_with_the_same_rules(vov: SiteProfile) -> None:
    mirror = vov.at_origin("http://127.0.0.1:8080/")
    assert mirror.canonical("https://vov.vn/the-gioi/a-post1.vov") == \
        "http://127.0.0.1:8080/the-gioi/a-post1.vov"
    assert mirror.canonical("/print/1") is None
    assert mirror.extract == vov.extract and mirror.discovery == vov.discovery
    with pytest.raises(ProfileError, match="origin"):
        vov.at_origin("127.0.0.1:8080")


def test_one_spider_per_profile_with_its_politeness() -> None:
    from scrapy.settings import Settings

    settings = Settings({"SITE_PROFILES_DIR": str(SITES)})
    loader = ProfileSpiderLoader(settings)
    assert "vov" in loader.list()
    spider_class = loader.load("vov")
    spider_class.update_settings(settings)
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")  # -s beats the profile
    spider_class.update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 0
    with pytest.raises(KeyError, match="sites with a profile: .*vov"):
        loader.load("nosuchsite")


@pytest.mark.parametrize(("toml", "message"), [
    ('name = "x"\norigin = "https://x.vn"\nhosts = ["x.vn"]\n[discovery]\nfoo = 1\n', "unknown keys"),
    ('name = "x"\norigin = "x.vn"\nhosts = ["x.vn"]\n', "origin"),
    ('name = "x"\norigin = "https://x.vn"\nhosts = ["x.vn"]\n[discovery]\narticle_pattern = "("\n',
     "bad pattern"),
    ('name = "x"\norigin = "https://x.vn"\n', "hosts"),
    ('name = [', "cannot read"),
])
def test_bad_profiles_get_clear_errors(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        SiteProfile.load(path)


def zipped_package(tmp_path: Path, package: str, files: dict[str, str]) -> Path:
    """A package installed as a zip file (as in an egg Scrapyd runs): no folder on disk."""
    archive = tmp_path / f"{package}.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(f"{package}/__init__.py", "")
        for name, text in files.items():
            out.writestr(f"{package}/{name}", text)
    return archive


def test_profiles_load_from_a_package_inside_a_zip_file(tmp_path: Path, monkeypatch) -> None:
    vov_text = (SITES / "vov.toml").read_text(encoding="utf-8")
    monkeypatch.syspath_prepend(str(zipped_package(tmp_path, "zipped_profiles", {
        "sites/vov.toml": vov_text, "sites/README.txt": "not a profile", "sites/old/x.toml": "name = ["})))
    loaded = load_profiles("zipped_profiles:sites")
    assert list(loaded) == ["vov"]
    assert loaded["vov"] == load_profiles(project.PROFILES_DIR)["vov"]
    assert ProfileSpiderLoader(Settings({"PROFILES_DIR": "zipped_profiles:sites"})).list() == ["vov"]


def test_a_folder_on_disk_is_read_as_a_path(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "my:sites"  # a name that could pass for <package>:<folder>
    folder.mkdir()
    (folder / "vov.toml").write_text((SITES / "vov.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert ProfileSpiderLoader(Settings({"PROFILES_DIR": str(folder)})).list() == ["vov"]
    monkeypatch.chdir(tmp_path)
    assert list(load_profiles("my:sites")) == ["vov"]  # an existing folder wins


@pytest.mark.parametrize(("location", "message"), [
    ("no_such_package_here:sites", "no package 'no_such_package_here'"),
    ("settings:no_such_folder", "is not a folder"),
    ("/no/such/folder", "is not a folder"),
])
def test_a_profiles_location_that_is_not_a_folder_is_an_error(location: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profiles(location)
