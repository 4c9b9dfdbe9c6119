"""`scrapy report` and `scrapy summary` on a real history: two crawls of the sample site
(the second after articles were added and one changed), on SQLite and PostgreSQL.

The report is opened in headless Chromium (Debian's package, driven by Playwright): it
must render its charts (SVG boxes of real size, a screenshot with colour in them), log no
console error, make no network request, and run nothing a page smuggled into the catalogue.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from storage.catalogue import history
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun, Document, ExtractionFailure, FrontierEntry
from tests.catalogue_queries import latest_documents
from tests.conftest import IN_CI
from tests.crawl import CrawlResult, crawl, scrapy
from tests.sample_site import SampleSite, serve

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# What a hostile page could have put in the catalogue: each would run or fetch if unescaped.
SCRIPT_TITLE = "<script>document.title='pwned';window.pwned=1</script>"
IMG_REASON = '<img src="http://127.0.0.1:9/x.png" onerror="window.pwned=2">'
JS_URL = "javascript:window.pwned=3"
CHARTS = ("articles-per-run", "requests-per-run", "bytes-per-run", "duration-per-run",
          "extraction-failures", "sections", "days")


@dataclass
class Crawled:
    result: CrawlResult
    report: Path


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def crawled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    data_dir = tmp_path_factory.mktemp(f"report-{request.param}")
    database_url = request.getfixturevalue("module_postgres_url") if request.param == "postgresql" \
        else None
    site = SampleSite(n_articles=30)
    with serve(site) as origin:
        first = crawl(origin, data_dir, database_url)
        assert first.returncode == 0, first.log[-4000:]
        special = {*site.special.values(), site.redirect_target}
        site.change_article(next(p for p in site.paths_by_role()["common"] if p not in special))
        site.add_articles(3)
        second = crawl(origin, data_dir, database_url)
        assert second.returncode == 0, second.log[-4000:]
    _smuggle_hostile_values(second.database_url)
    report = data_dir / "report.html"
    done = scrapy("report", "-o", str(report), data_dir=data_dir, database_url=second.database_url)
    assert done.returncode == 0, done.stdout + done.stderr
    return Crawled(second, report)


def _smuggle_hostile_values(database_url: str) -> None:
    """What pages and servers say reaches the report: make some of it hostile."""
    with open_catalogue(database_url).begin() as session:
        newest = session.scalar(select(func.max(Document.id)))
        session.execute(update(Document).where(Document.id == newest).values(section=SCRIPT_TITLE))
        first_failure = session.scalar(select(func.min(ExtractionFailure.id)))
        session.execute(update(ExtractionFailure).where(ExtractionFailure.id == first_failure)
                        .values(reason=IMG_REASON[:64]))
        session.execute(update(FrontierEntry).where(FrontierEntry.last_error.isnot(None))
                        .values(url=JS_URL, last_error=SCRIPT_TITLE))


def test_summary_shows_what_the_recrawl_did_and_how_fast(crawled: Crawled) -> None:
    result = crawled.result
    done = scrapy("summary", data_dir=result.data_dir, database_url=result.database_url)
    assert done.returncode == 0, done.stderr
    with open_catalogue(result.database_url)() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert run is not None and run.id == 2
        expected = (f"new {run.new_articles}, changed {run.changed_articles}, unchanged "
                    f"{run.unchanged_articles}, not modified {run.not_modified_articles}, "
                    f"gone {run.gone_articles}, failed {run.failed_articles}")
    assert run.new_articles == 3 and run.changed_articles == 1
    lines = {line.strip().split("  ")[0]: line for line in done.stdout.splitlines()}
    assert lines["articles"].strip().endswith(expected)
    speed = re.search(r"duration +([\d.]+) s +\(([\d.]+) requests/s, ([\d.]+) pages/s\)", lines["duration"])
    assert speed, lines["duration"]
    seconds, requests_per_s = float(speed[1]), float(speed[2])
    requests = run.stats["downloader/request_count"]
    # the duration is printed to a tenth of a second: the rate is the requests over the real one
    assert seconds > 0.05
    assert requests / (seconds + 0.05) - 0.06 <= requests_per_s <= requests / (seconds - 0.05) + 0.06
    # the run extracted only the new and the changed articles: that is what it wrote
    assert re.search(r"text files written +4 ", lines["text files written"])


def test_run_figures_are_counted_in_sql_as_the_rows_say(crawled: Crawled) -> None:
    with open_catalogue(crawled.result.database_url)() as session:
        figures, total = history.run_history(session, "vov", limit=1)
        assert total == 2 and [f.id for f in figures] == [2]
        figures, _ = history.run_history(session, "vov")
        for run in figures:
            captures = session.scalars(select(Capture).where(Capture.crawl_run_id == run.id)).all()
            assert run.captures == len(captures) > 0
            assert run.warc_bytes == sum(c.warc_length for c in captures)
            assert sum(run.status_classes.values()) == len(captures)
        documents = [d for d in latest_documents(session)]
        sections = history.articles_by_section(session, "vov")
        days, undated = history.articles_by_day(session, "vov")
    assert sum(sections.values()) == len(documents) and SCRIPT_TITLE in sections
    assert sum(days.values()) + undated == len(documents)
    assert len(days) == (max(days) - min(days)).days + 1  # every day, empty ones as 0


def test_the_report_holds_every_chart_and_escapes_what_pages_said(crawled: Crawled) -> None:
    page = crawled.report.read_text(encoding="utf-8")
    for anchor in CHARTS:
        section = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
        assert section and "<svg" in section[1], anchor
    assert "<script" not in page and "<img" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;" in page
    # nothing to fetch: the only URLs in attributes are links a reader may click
    for tag, attribute, value in re.findall(r"<(\w+)[^>]*?\s(src|href)=\"([^\"]*)\"", page):
        assert tag == "a" and attribute == "href", (tag, attribute, value)
    assert "default-src 'none'" in page


def test_runs_charted_are_capped(crawled: Crawled) -> None:
    output = crawled.report.with_name("one-run.html")
    done = scrapy("report", "-o", str(output), "--runs", "1", "--site", "vov",
                  data_dir=crawled.result.data_dir, database_url=crawled.result.database_url)
    assert done.returncode == 0, done.stderr
    page = output.read_text(encoding="utf-8")
    assert "the last 1 of 2 runs" in page and ">#2 " in page and ">#1 " not in page


def test_an_unknown_site_is_a_usage_error(crawled: Crawled) -> None:
    done = scrapy("report", "-o", str(crawled.report.with_name("x.html")), "--site", "nosuch",
                  data_dir=crawled.result.data_dir, database_url=crawled.result.database_url)
    assert done.returncode == 2 and "nosuch" in done.stderr
    assert not crawled.report.with_name("x.html").exists()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never `playwright install`: nothing is downloaded)."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        missing = f"playwright is not installed ({error})"
    if missing is None and not shutil.which(CHROMIUM):
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    if missing:
        if IN_CI:
            pytest.fail(missing + ": CI must provide it (see .ci/run and pyproject's test extra)")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield launched
        launched.close()


def test_the_report_renders_in_chromium_with_nothing_fetched_nor_run(crawled: Crawled, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console, errors, requests = [], [], []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(crawled.report.as_uri(), wait_until="load")
    assert requests == [crawled.report.as_uri()]  # the file itself, nothing else
    assert [text for kind, text in console if kind in ("error", "warning")] == [] and errors == []
    assert page.title() == "Crawl report: vov"
    assert page.evaluate("window.pwned") is None
    for anchor in CHARTS:
        chart = page.locator(f"#{anchor} svg.chart")
        box = chart.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 20, anchor
        bars = page.evaluate(f"""[...document.querySelectorAll('#{anchor} svg.chart rect.bar')]
            .map(r => r.getBoundingClientRect()).filter(b => b.width > 0 && b.height > 0).length""")
        assert bars >= 2, anchor
        colours, inked = _colours(chart.screenshot())
        assert colours >= 3 and inked > 0.01, (anchor, colours, inked)
    page.close()


def _colours(png: bytes) -> tuple[int, float]:
    """Distinct colours in a screenshot, and the share of its pixels that are not white."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = image.getcolors(maxcolors=image.width * image.height)
    white = sum(n for n, colour in counts if colour == (255, 255, 255))
    return len(counts), 1 - white / (image.width * image.height)
