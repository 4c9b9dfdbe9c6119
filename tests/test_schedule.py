"""`scrapy schedule` runs each site's crawl on its schedule and survives a failed run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import UsageError

from crawler.commands.schedule import Schedule
from tests.crawl import scrapy
from tests.sample_site import SampleSite, serve


def test_cron_entries_parse_and_bad_ones_are_refused() -> None:
    hourly = Schedule.parse("vov", "17 * * * *")
    assert hourly.next_after(datetime(2026, 11, 24, 12, 20, tzinfo=UTC)) == \
        datetime(2026, 11, 24, 13, 17, tzinfo=UTC)
    full = Schedule.parse("vov", {"cron": "0 3 * * *", "args": {"origin": "http://h"},
                                  "settings": {"DOWNLOAD_DELAY": "2"}})
    assert full.command()[-6:] == ["crawl", "vov", "-a", "origin=http://h", "-s", "DOWNLOAD_DELAY=2"]
    with pytest.raises(UsageError, match="valid cron expression"):
        Schedule.parse("vov", "every hour")


@pytest.mark.slow
def test_the_scheduler_runs_each_site_and_survives_a_failed_run(tmp_path: Path) -> None:
    site = SampleSite(n_articles=5)
    with serve(site) as origin:
        schedules = {"vov": {"cron": "0 0 1 1 *", "args": {"origin": origin},
                             "settings": {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}},
                     "nosuchsite": "0 0 1 1 *"}
        done = scrapy("schedule", "--run-now", "--max-runs", "2",
                      "-s", f"SCHEDULES={json.dumps(schedules)}", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "The vov crawl finished" in done.stderr
    assert "The nosuchsite crawl failed" in done.stderr and "the schedule goes on" in done.stderr
    assert any(request.target == "/robots.txt" for request in site.requests)
