"""`scrapy report -o report.html`: one self-contained HTML page of a site's crawl history.

The figures come from the catalogue (storage.catalogue.history, counted in SQL); the page is
drawn by crawler.report.page. Days of publication are counted in the site profile's zone.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import Unusable, one_line_errors, opened, without_credentials
from crawler.profiles import profiles_of
from crawler.report.page import render
from storage.atomic import atomic_output
from storage.catalogue import history
from storage.catalogue.db import open_catalogue


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def short_desc(self) -> str:
        return "Write an HTML report of a site's runs, articles and problems"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", required=True, help="the HTML file to write")
        parser.add_argument("--site", help="the site (default: the latest run's site)")
        parser.add_argument("--runs", type=int, default=200,
                            help="chart the site's last N runs (default 200)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError("no arguments are taken; give the site with --site")
        if opts.runs < 1:
            raise UsageError("--runs must be at least 1")
        with one_line_errors("report"):
            self._report(opts)

    def _report(self, opts: argparse.Namespace) -> None:
        url = setting(self.settings, "DATABASE_URL", str)
        sessions = opened(lambda: open_catalogue(url), url)
        with sessions() as session:
            site = opts.site or history.latest_site(session)
            if site is None:
                raise Unusable("no crawl run in the catalogue yet: nothing to report")
            known = history.sites(session)
            if site not in known:
                raise UsageError(f"no crawl run of site {site!r} (sites with runs: "
                                 f"{', '.join(known) or 'none'})")
            report = history.site_report(session, site, runs=opts.runs, utc_offset=self._offset(site))
        page = render(report, generated_at=datetime.now(UTC),
                      catalogue=without_credentials(url))
        output = Path(opts.output)
        try:
            with atomic_output(output, "w", encoding="utf-8") as file:  # never half a report
                file.write(page)
        except OSError as error:
            raise Unusable(f"{output}: {error.strerror or error}: give -o a writable path") from error
        print(f"Report of {site}: {len(report.runs)} of {report.total_runs} runs charted, "
              f"written to {output}")

    def _offset(self, site: str) -> timedelta:
        """The site's zone as an offset from UTC now (its profile's `timezone`; UTC without one)."""
        profile = profiles_of(self.settings).get(site)
        zone = profile.zone if profile is not None else None
        if zone is None:
            return timedelta(0)
        return zone.utcoffset(datetime.now(UTC).replace(tzinfo=None)) or timedelta(0)
