"""The CDXJ index of a selection of captures (`scrapy cdxj`, and `scrapy wacz` through it).

The selection options (crawler.selection) narrow what the catalogue streams: run and dates
in SQL, site (a capture's run's, or for an imported capture the profile naming its host)
and URL pattern row by row. The lines come from storage.cdxj, sorted with bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from crawler.profiles import SiteProfile
from crawler.selection import Selection, SiteOf
from storage.cdxj import CdxjCounts, IndexRow, index_rows, lines_of
from storage.sorting import sorted_lines

__all__ = ["selected_lines"]


def selected_lines(session: Session, selection: Selection, profiles: dict[str, SiteProfile],
                   counts: CdxjCounts | None = None) -> Iterator[str]:
    """The sorted CDXJ lines (without newlines) of the selected captures; what is left out
    (bot challenges, 304s without their original) is counted in `counts`."""
    counts = counts if counts is not None else CdxjCounts()
    site_of = SiteOf(profiles)

    def selected() -> Iterator[IndexRow]:
        for row in index_rows(session, run=selection.run, since=selection.since,
                              until=selection.until):
            if selection.site is not None:
                profile = site_of(row.site, row.url)
                if profile is None or profile.name != selection.site:
                    continue
            if selection.matches_url(row.url):
                yield row

    return sorted_lines(lines_of(selected(), counts))
