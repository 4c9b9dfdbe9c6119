"""The one date rule: every form sites write, a zone only where the source gives one, and
refusals with a reason instead of exceptions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.dates import DateRefused, parse_date, read_date, zone_named

VIETNAM = zone_named("+07:00")
THREE_UTC = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "2024-05-01T10:00:00+07:00", "2024-05-01T10:00:00+0700", "2024-05-01T10:00+07",
    "2024-05-01 10:00 GMT+7", "2024-05-01 10:00:00 UTC+07:00", "2024-05-01 10:00:00 ICT",
    "Wed, 01 May 2024 10:00:00 +0700", "Wed, 01 May 2024 10:00:00 +07:00",
    "Wed, 01 May 2024 10:00:00 ICT", "2024-05-01T03:00:00Z", "Wed, 01 May 2024 03:00:00 GMT",
    "  2024-05-01T10:00:00\n+07:00 ",
])
def test_every_zone_form_gives_the_same_moment(text: str) -> None:
    assert read_date(text, VIETNAM) == THREE_UTC


def test_a_date_without_a_zone_takes_the_sources_zone_never_utc() -> None:
    assert read_date("2024-05-01T10:00:00", VIETNAM) == THREE_UTC
    assert read_date("2024-05-01", zone_named("Asia/Ho_Chi_Minh")) == datetime(2024, 4, 30, 17,
                                                                               tzinfo=UTC)
    with pytest.raises(DateRefused, match="no time zone"):
        read_date("2024-05-01T10:00:00")


@pytest.mark.parametrize("text", [
    "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00Z", "0001-01-01", "1900-01-01T00:00:00Z",
    "2008-10-294T05:21:46-0700", "2024-13-01", "not a date", "2024-05-01T10:00:00+25:00",
])
def test_impossible_or_out_of_range_dates_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(DateRefused) as refused:
        read_date(text, VIETNAM)
    assert text.split("T")[0][:10] in str(refused.value)
    assert parse_date(text, VIETNAM) is None  # the quiet form never raises either


def test_no_text_is_no_date() -> None:
    assert read_date(None) is None and read_date("  ") is None


def test_zone_names() -> None:
    assert zone_named("") is None
    for name in ("+07:00", "+0700", "GMT+7", "ICT"):
        assert datetime(2024, 1, 1, tzinfo=zone_named(name)).utcoffset().total_seconds() == 7 * 3600
    with pytest.raises(ValueError, match="neither"):
        zone_named("Mars/Olympus")


def test_w3c_dates_of_a_month_or_a_year_and_fractions_before_a_compact_zone() -> None:
    assert read_date("2024-05", VIETNAM) == datetime(2024, 4, 30, 17, tzinfo=UTC)
    assert read_date("2024", VIETNAM) == datetime(2023, 12, 31, 17, tzinfo=UTC)
    assert read_date("2024-05-01T10:00:00.5+0700") == THREE_UTC.replace(microsecond=500000)
