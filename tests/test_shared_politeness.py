"""Workers of one crawl job (FRONTIER_URL) are together as polite as one: the profile's delay
and per-domain concurrency hold for the job, as the site's own request log shows, and
robots.txt is fetched once for the job, every worker obeying it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import CrawlRun
from tests.sample_site import SampleSite, serve
from tests.test_shared_crawl import fetches, finish, start_worker

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DELAY = 0.1
LATENCY = 0.03  # the site takes this long to answer: two requests at once would overlap
# A request leaves its worker a little after its reserved time when the worker's reactor is
# busy (a page being parsed) or the machine is: Scrapy alone, one process without any job,
# shows the same lag (up to 60 ms measured on a loaded 2-core machine). So each gap is the
# delay give or take that lag, and ten gaps together are the delay ten times, give or take one lag.
LAG = 0.06


def slow(site: SampleSite) -> SampleSite:
    """The site, answering each request LATENCY seconds late (a server at work, not a wait
    for a condition)."""
    respond = site.respond

    def slowly(target: str, base: str):  # type: ignore[no-untyped-def]
        time.sleep(LATENCY)
        return respond(target, base)

    site.respond = slowly  # type: ignore[method-assign]
    return site


def test_two_workers_keep_the_delay_and_concurrency_of_one(tmp_path: Path, postgres_url: str,
                                                           frontier_namespace: str) -> None:
    site = slow(SampleSite(n_articles=20))
    polite = {"DOWNLOAD_DELAY": str(DELAY), "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
              "AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY_JITTER": "0",
              "PHOTOS_ENABLED": "False", "FRONTIER_LEASE_BATCH": "1"}
    with serve(site) as origin:
        finish([start_worker(origin, tmp_path, postgres_url, frontier_namespace, **polite)
                for _ in range(2)])
    log = sorted(site.requests, key=lambda r: r.received)
    assert len(log) > 60 and all(r.answered for r in log)
    overlapping = [(a.target, b.target) for a, b in zip(log, log[1:]) if b.received < a.answered]
    assert overlapping == [], "two requests at once"
    gaps = [b.received - a.received for a, b in zip(log, log[1:])]
    assert sorted(gaps)[len(gaps) // 20] >= DELAY - 0.01, sorted(gaps)[:8]  # 95% on time
    assert min(gaps) >= DELAY - LAG, sorted(gaps)[:8]
    tens = [sum(gaps[i:i + 10]) for i in range(len(gaps) - 9)]
    assert min(tens) >= 10 * DELAY - LAG, "more than ten requests a second"
    assert fetches(site)["/robots.txt"] == 1

    with open_catalogue(postgres_url)() as session:
        runs = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()
    assert len(runs) == 2 and {run.status for run in runs} == {"finished"}
    # both fetched, each in its turn (on a busy machine the second may start late: a few turns)
    assert all(run.stats.get("politeness/turns", 0) >= 2 for run in runs)
    # one fetched robots.txt, the other parsed its copy
    robots = sorted((run.stats.get("robotstxt/request_count", 0), run.stats.get("robotstxt/from_job", 0))
                    for run in runs)
    assert robots == [(0, 1), (1, 0)]
    assert site.trap_requests() == []
