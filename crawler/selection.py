"""Which captures a command works on: the options `reextract`, `cdxj`, `wacz` and `export`
share (--site, --run, --since, --until, --url-pattern), read once, checked once.

A capture's site is its crawl run's; an imported capture (no run) belongs to the profile
whose hosts include its host, or else to no site (`site_of`).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scrapy.exceptions import UsageError

from crawler.profiles import SiteProfile
from storage.catalogue.selection import Narrowing

__all__ = ["Selection", "SiteOf", "add_selection_options", "selection_given", "selection_of"]

_OPTIONS = ("site", "run", "since", "until", "url_pattern")  # as add_selection_options names them


@dataclass(frozen=True, slots=True)
class Selection:
    """The command's filters; None means no filter."""

    site: str | None = None
    run: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    url_pattern: str | None = None
    stale_against: str | None = None
    """An extractor version: only URLs whose newest document was made by another one."""

    @property
    def narrows_captures(self) -> bool:
        return self.run is not None or self.since is not None or self.until is not None

    @property
    def narrowing(self) -> Narrowing:
        """What the catalogue's query narrows by (the rest is decided row by row: `admits`)."""
        return Narrowing(run=self.run, since=self.since, until=self.until, site=self.site)

    def matches_url(self, url: str) -> bool:
        return not self.url_pattern or re.search(self.url_pattern, url) is not None

    def admits(self, run_site: str | None, url: str, site_of: SiteOf) -> bool:
        """Whether a capture of a run of `run_site` (None: imported) at `url` is selected:
        its URL matches the pattern and its site (`site_of`) is the one asked for."""
        if not self.matches_url(url):
            return False
        if self.site is None:
            return True
        profile = site_of(run_site, url)
        return profile is not None and profile.name == self.site


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", help="only this site's captures (a profile name)")
    parser.add_argument("--run", type=int, help="only the captures of this crawl run")
    parser.add_argument("--since", help="only captures fetched at or after this date (ISO 8601, UTC)")
    parser.add_argument("--until", help="only captures fetched before this date (ISO 8601, UTC)")
    parser.add_argument("--url-pattern", help="only URLs matching this regular expression")


def selection_given(opts: argparse.Namespace) -> bool:
    """Whether any of the selection options was given."""
    return any(getattr(opts, name) is not None for name in _OPTIONS)


def selection_of(opts: argparse.Namespace, profiles: dict[str, SiteProfile], *,
                 stale_against: str | None = None) -> Selection:
    """The options as a Selection; a bad value is a UsageError (exit status 2) saying why."""
    if opts.site and opts.site not in profiles:
        raise UsageError(f"no site profile {opts.site!r} (known: {', '.join(sorted(profiles))})")
    if opts.url_pattern:
        try:
            re.compile(opts.url_pattern)
        except re.error as error:
            raise UsageError(f"--url-pattern {opts.url_pattern!r} is not a regular expression: "
                             f"{error}") from None
    return Selection(
        site=opts.site, run=opts.run, since=_date(opts.since, "--since"),
        until=_date(opts.until, "--until"), url_pattern=opts.url_pattern,
        stale_against=stale_against,
    )


def _date(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r}: give a date like 2025-03-14 or 2025-03-14T08:00") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


class SiteOf:
    """The profile a capture belongs to: its run's site, else (imported) the one naming its host."""

    def __init__(self, profiles: dict[str, SiteProfile]) -> None:
        self.profiles = profiles
        self.by_host = {host: profile for profile in profiles.values() for host in profile.hosts}

    def __call__(self, run_site: str | None, url: str) -> SiteProfile | None:
        if run_site is not None:
            return self.profiles.get(run_site)
        return self.by_host.get((urlsplit(url).hostname or "").lower())
