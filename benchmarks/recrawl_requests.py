"""Benchmark: what a no-change run costs against the first, full run of the same site.

Serves a VOV-style sample site (2,000 articles by default) on loopback, crawls it once
(everything is new), then again with nothing changed, and prints for each run: requests
the site received, wall time, and what became of them (new articles, 304s, revisits).
Target: the no-change run sends under 5% of the first run's requests.

    .venv/bin/python -m benchmarks.recrawl_requests [--articles 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture, CrawlRun
from tests.crawl import crawl
from tests.sample_site import SampleSite, serve

SETTINGS = {"CONCURRENT_REQUESTS": "16", "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
            # deep enough for every listing page of the first run
            "DISCOVERY_MAX_LISTING_PAGES": "500"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    args = parser.parse_args()
    site = SampleSite(n_articles=args.articles)
    rows = []
    with serve(site) as origin, tempfile.TemporaryDirectory() as tmp:
        for name in ("first run", "no-change run"):
            site.clear_requests()
            started = time.perf_counter()
            result = crawl(origin, Path(tmp), settings=SETTINGS)
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"{name} failed:\n{result.log[-3000:]}")
            rows.append((name, len(site.requests), seconds, kinds(Path(tmp), len(rows) + 1)))
    print(f"sample site: {args.articles} articles")
    print(f"{'run':<15}{'requests':>10}{'seconds':>9}  what the catalogue recorded")
    for name, requests, seconds, recorded in rows:
        print(f"{name:<15}{requests:>10}{seconds:>9.1f}  {recorded}")
    first, again = rows[0][1], rows[1][1]
    print(f"no-change run / first run: {again / first:.1%} of the requests, "
          f"{rows[1][2] / rows[0][2]:.0%} of the time")


def kinds(data_dir: Path, run_number: int) -> str:
    with open_catalogue(f"sqlite:///{data_dir / 'archive.sqlite3'}")() as session:
        run = session.scalars(select(CrawlRun).order_by(CrawlRun.id)).all()[run_number - 1]
        captures = session.execute(select(Capture.warc_type, Capture.status)
                                   .where(Capture.crawl_run_id == run.id)).all()
    by_kind = Counter(f"{kind} {status}" for kind, status in captures)
    return (f"articles new {run.new_articles}, changed {run.changed_articles}; captures "
            + ", ".join(f"{k}: {n}" for k, n in sorted(by_kind.items())))


if __name__ == "__main__":
    main()
