"""Our own settings: one default each, the same in code, in settings/project.py and in README,
old names still honoured, and every component buildable from bare Scrapy settings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

import settings.project as project
from crawler.archive import Archive
from crawler.config import setting
from crawler.extraction.workers import DEFAULT_TIMEOUT
from crawler.middlewares.jsredirect import JsRedirectMiddleware
from crawler.middlewares.urlguard import UrlGuardMiddleware
from settings.defaults import DEFAULTS, RENAMED
from storage.catalogue.values import URL_MAX_BYTES
from storage.imports.importer import ImportLimits

ROOT = Path(__file__).resolve().parent.parent
PLACES = {"WARC_DIR", "EXTRACT_TEXT_DIR", "PENDING_REQUESTS_DIR", "DATABASE_URL"}  # project.py puts these under DATA_DIR
PROJECT_CHOICES = {"SCHEDULE_CRAWLS",  # the project ships an hourly vov schedule; code knows none
                   "WARC_OPERATOR"}  # the contact given in the environment


def test_project_module_sets_every_default() -> None:
    for name, default in DEFAULTS.items():
        assert hasattr(project, name), f"settings/project.py lacks {name}"
        if name not in PLACES | PROJECT_CHOICES:
            assert getattr(project, name) == default, name


def test_readme_settings_table_lists_every_setting_and_old_name() -> None:
    table = {m.group(1) for m in re.finditer(r"^\| `([A-Z_]+)`", (ROOT / "README.md").read_text(), re.M)}
    assert set(DEFAULTS) <= table, sorted(set(DEFAULTS) - table)
    readme = (ROOT / "README.md").read_text()
    for old in RENAMED:
        assert f"`{old}`" in readme, f"README does not mention the old name {old}"


def _own_setting_names_read_raw() -> list[str]:
    """Reads like settings.getint("WARC_MAX_SIZE") or settings["WARC_DIR"] that bypass the table."""
    ours, raw = set(DEFAULTS) | set(RENAMED), []
    for path in (ROOT / "crawler").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in {"get", "getint", "getfloat", "getbool", "getdict", "getlist"} \
                    and node.args and isinstance(node.args[0], ast.Constant):
                name = node.args[0].value
            elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                name = node.slice.value
            else:
                continue
            if name in ours:
                raw.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return raw


def test_components_read_our_settings_through_the_defaults_table() -> None:
    assert _own_setting_names_read_raw() == []


@pytest.mark.parametrize(("given", "expected"), [
    ({}, 16 * 1024 * 1024),
    ({"EXTRACT_MAX_BYTES": "10"}, 10),
])
def test_unset_setting_takes_its_default(given: dict[str, str], expected: int) -> None:
    assert setting(Settings(given), "EXTRACT_MAX_BYTES", int) == expected


def test_old_name_given_on_the_command_line_beats_the_projects_new_name() -> None:
    settings = Settings()
    settings.setmodule(project, priority="project")
    settings.set("TEXT_DIR", "/elsewhere", priority="cmdline")
    assert setting(settings, "EXTRACT_TEXT_DIR", str) == "/elsewhere"
    settings.set("EXTRACT_TEXT_DIR", "/newer", priority="cmdline")
    assert setting(settings, "EXTRACT_TEXT_DIR", str) == "/elsewhere"  # same priority: the old name
    settings.set("EXTRACT_TEXT_DIR", "/newest", priority=50)
    assert setting(settings, "EXTRACT_TEXT_DIR", str) == "/newest"


def test_old_name_in_a_settings_module_importing_ours_wins() -> None:
    settings = Settings()
    settings.setmodule(project, priority="project")
    settings.set("TEXT_DIR", "/mine", priority="project")
    assert setting(settings, "EXTRACT_TEXT_DIR", str) == "/mine"


def test_old_name_in_a_project_file_still_counts() -> None:
    settings = Settings({"RUN_LOCK_HEARTBEAT": "5"})
    assert setting(settings, "RUNLOCK_HEARTBEAT", float) == 5.0


def test_a_name_outside_the_table_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="not a vnarchive setting"):
        setting(Settings(), "WARC_MAX_SIZ", int)


def test_components_build_from_bare_scrapy_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`get_crawler({})`: every value comes from the defaults table (paths under ./data)."""
    monkeypatch.chdir(tmp_path)
    crawler = get_crawler(settings_dict={})
    archive = Archive.of(crawler)
    try:
        assert archive.config.max_size == DEFAULTS["WARC_MAX_SIZE"]  # type: ignore[union-attr]
        archive.ready()  # its process built the same archive from the same values
        assert (tmp_path / "data" / "warc").is_dir() and (tmp_path / "data" / "text").is_dir()
    finally:
        archive.close().result(timeout=60)
    assert UrlGuardMiddleware.from_crawler(crawler).limit == min(DEFAULTS["CATALOGUE_MAX_URL_BYTES"],
                                                               crawler.settings.getint("URLLENGTH_LIMIT"))
    assert JsRedirectMiddleware.from_crawler(crawler).max_redirect_times > 0


def test_defaults_kept_beside_the_code_that_uses_them_agree_with_the_table() -> None:
    """storage/ takes plain values, so its own fallbacks are constants: they must not drift."""
    limits = ImportLimits()
    assert (limits.max_record_bytes, limits.max_extracted_bytes, limits.max_compression_ratio) == (
        DEFAULTS["IMPORT_MAX_RECORD_BYTES"], DEFAULTS["IMPORT_MAX_EXTRACTED_BYTES"],
        DEFAULTS["IMPORT_MAX_COMPRESSION_RATIO"])
    assert URL_MAX_BYTES == DEFAULTS["CATALOGUE_MAX_URL_BYTES"]
    assert DEFAULT_TIMEOUT == DEFAULTS["EXTRACT_TIMEOUT"]


def test_warcinfo_fields_come_from_settings_else_from_the_site() -> None:
    from scrapy.settings import Settings

    from crawler.archive import warcinfo_of

    derived = warcinfo_of(Settings({"WARC_OPERATOR": "Thư viện X <archive@example.org>"}), "vov")
    assert derived["operator"] == "Thư viện X <archive@example.org>"
    assert derived["isPartOf"] == "vov"
    assert derived["description"] == "Crawl of vov: its pages, sitemaps and feeds"
    given = warcinfo_of(Settings({"WARC_IS_PART_OF": "job-42", "WARC_DESCRIPTION": "Backfill 2020"}), "vov")
    assert given["isPartOf"] == "job-42" and given["description"] == "Backfill 2020"
    assert "operator" not in given  # nothing said: no empty field
