"""One date rule for the whole project: sitemaps, feeds, page metadata and WARC headers.

Why one module: every source writes dates its own way (`+07:00`, `+0700`, `GMT+7`, `ICT`,
RFC 822, no zone at all) and a single odd value must never stop a run. So every date is
read here, the same way: an aware UTC datetime, or `DateRefused` with the reason, never
another exception. A date written without a zone is read in the zone the caller names
(a site profile's `timezone`; UTC for WARC-Date, as the WARC standard says), never UTC by
default. A date outside [EARLIEST, LATEST) cannot be meant (`9999-12-31`, `0001-01-01`)
and is refused, so the catalogue never holds a value another engine cannot.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["EARLIEST", "LATEST", "DateRefused", "parse_date", "read_date", "zone_named"]

EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

UTC_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")
# "GMT+7", "UTC +07:00", "GMT-0530" at the end of a date
_NAMED_OFFSET = re.compile(r"\s*\(?(?:GMT|UTC|UT)\s*([+-]\s*\d{1,2}(?::?\d{2})?)\)?\s*$", re.I)
# "+0700" / "+07" after the time of an ISO date ("2024-05-01T10:00:00.5+0700"), never the
# day of a date alone ("2024-05-01")
_COMPACT_OFFSET = re.compile(r"(?<=:\d\d)(?:\.\d+)?([+-])(\d{2})(\d{2})?$")
# W3C datetime's year or year-month alone, as sitemaps may give them
_YEAR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")
# Zone abbreviations that RFC 822 does not know but sites in this field write. Ambiguous
# ones (CST, IST, ...) are left out on purpose: a wrong zone is worse than a refused date.
_ABBREVIATIONS = {
    "ICT": "+07:00", "WIB": "+07:00", "SGT": "+08:00", "HKT": "+08:00", "PHT": "+08:00",
    "MYT": "+08:00", "JST": "+09:00", "KST": "+09:00", "CET": "+01:00", "CEST": "+02:00",
    "BST": "+01:00", "Z": "+00:00", "UTC": "+00:00", "GMT": "+00:00", "UT": "+00:00",
}
_ABBREVIATION = re.compile(r"\s*\(?([A-Z]{1,4})\)?\s*$")


def utc_now() -> datetime:
    """The current time, timezone-aware UTC: the one clock of catalogue rows and WARC dates."""
    return datetime.now(UTC)


class DateRefused(ValueError):
    """A date that was given but cannot be used; str() is the reason, for the record."""


def read_date(text: str | None, zone: tzinfo | None = None) -> datetime | None:
    """An aware UTC datetime; None for no text; DateRefused (with why) for anything else
    that is not a usable date. `zone` is for dates written without one; with no `zone`
    such a date is refused."""
    if text is None:
        return None
    value = " ".join(str(text).split())
    if not value:
        return None
    try:
        moment = _parse(_normalise_zone(value))
    except (ValueError, TypeError, IndexError, OverflowError):
        raise DateRefused(f"unreadable date {value[:80]!r} (ISO 8601 and RFC 822 are read)") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        if zone is None:
            raise DateRefused(f"date {value[:80]!r} has no time zone and none is set for its source")
        moment = moment.replace(tzinfo=zone)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DateRefused(f"date {value[:80]!r} is out of range") from None
    if not EARLIEST <= moment < LATEST:
        raise DateRefused(f"date {value[:80]!r} is out of range "
                          f"({EARLIEST.year} to {LATEST.year - 1} are accepted)")
    return moment


def parse_date(text: str | None, zone: tzinfo | None = None) -> datetime | None:
    """read_date for callers that only need the value: None for anything refused."""
    try:
        return read_date(text, zone)
    except DateRefused:
        return None


@lru_cache(maxsize=32)
def zone_named(name: str) -> tzinfo | None:
    """A profile's time zone: a UTC offset (`+07:00`, `+0700`, `GMT+7`), an abbreviation
    this module knows (`ICT`), or an IANA name (`Asia/Ho_Chi_Minh`); empty for none."""
    name = name.strip()
    if not name:
        return None
    if match := _NAMED_OFFSET.fullmatch(name):
        name = match.group(1).replace(" ", "")
    name = _ABBREVIATIONS.get(name.upper(), name)
    if match := UTC_OFFSET.fullmatch(name):
        return _offset(*match.groups())
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"timezone {name!r} is neither a UTC offset like +07:00 nor a known "
                         "zone") from error


def _offset(sign: str, hours: str, minutes: str | None) -> timezone:
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        raise ValueError(f"UTC offset {sign}{hours}:{minutes or '00'} is impossible")
    return timezone(-delta if sign == "-" else delta)


def _normalise_zone(value: str) -> str:
    """Write the zone forms above as ISO `+HH:MM` at the end."""
    if match := _NAMED_OFFSET.search(value):
        zone = _offset(*UTC_OFFSET.fullmatch(match.group(1).replace(" ", "")).groups())  # type: ignore[union-attr]
        return value[:match.start()] + " " + _iso_offset(zone)
    if (match := _ABBREVIATION.search(value)) and match.group(1) in _ABBREVIATIONS:
        return value[:match.start()] + " " + _ABBREVIATIONS[match.group(1)]
    if match := _COMPACT_OFFSET.search(value):
        sign, hours, minutes = match.groups()
        start = match.start(1)  # the fraction of a second, if any, stays
        return value[:start] + f" {sign}{hours}:{minutes or '00'}"
    return value


def _iso_offset(zone: timezone) -> str:
    total = int(zone.utcoffset(None).total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    return f"{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def _parse(value: str) -> datetime:
    """ISO 8601 first (sitemaps, Atom, meta tags, WARC-Date), then RFC 822 (RSS, HTTP)."""
    if match := _YEAR_MONTH.fullmatch(value):
        return datetime(int(match[1]), int(match[2] or 1), 1)
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    iso = re.sub(r"(\d)\s+([+-]\d{2}:\d{2})$", r"\1\2", iso)  # "... 10:00 +07:00"
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    # RFC 822, its zone as "+0700" ("-0000" would mean "unknown" to the email module)
    rfc = re.sub(r"\s*([+-])(\d{2}):(\d{2})$", r" \1\2\3", value)
    return parsedate_to_datetime(rfc)
