"""Values made fit for the catalogue's columns, with the reason each change was needed:
those of other tools' records (`scrapy warcimport`) and of our own crawl's captures.

Why this module exists: one odd value (a NUL byte, a 300-character Content-Type, status
999, a header line that is not UTF-8) must never cost its record, let alone its file:
PostgreSQL refuses NUL in text and over-long values outright, where SQLite would keep
them. So a value is repaired (NUL removed, cut to the column's length, an impossible
status stored as 0) and the repair noted in `problems` ({column: why}), which becomes the
capture's `problems` column; the WARC record keeps the value as sent. Only a URL the
catalogue cannot hold (NUL, longer than its index allows) refuses the record.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import String

from storage.catalogue.models import Base

__all__ = ["NO_STATUS", "URL_MAX_BYTES", "Problems", "fit_values", "fitted", "http_status",
           "status_code", "undecodable", "url_refusal"]

URL_MAX_BYTES = 2000
"""PostgreSQL's btree rows hold at most ~2700 bytes, and `captures` indexes (url, fetched_at)."""

Problems = dict[str, str]


def fitted(value: str | None, limit: int, column: str, problems: Problems) -> str | None:
    """`value` without NUL characters and cut to `limit` characters; None if empty."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
        _note(problems, column, "held NUL characters: removed")
    if len(value) > limit:
        _note(problems, column, f"{len(value)} characters, over the column's {limit}: cut")
        value = value[:limit]
    return value or None


NO_STATUS = 0  # the catalogue's word for "no usable HTTP status"
# Columns that point at records may not be cut (a cut pointer would name nothing): they
# must fit as they are.
_POINTERS = {"warc_file", "warc_record_id", "refers_to_record_id", "payload_digest", "text_path"}


def fit_values(model: type[Base], values: dict[str, Any]) -> tuple[dict[str, Any], Problems]:
    """`values` of a row of `model` without NUL characters (PostgreSQL text cannot hold
    them) and with strings cut to their column's length; and why each changed."""
    problems: Problems = {}
    fitted_values = dict(values)
    for name, limit in _limits(model).items():
        value = values.get(name)
        if not isinstance(value, str):
            continue
        if name in _POINTERS or limit is None:
            fit = value.replace("\x00", "")
            if fit != value:
                _note(problems, name, "held NUL characters: removed")
        else:
            fit = fitted(value, limit, name, problems) if value else value
        fitted_values[name] = fit
    return fitted_values, problems


@cache
def _limits(model: type[Base]) -> dict[str, int | None]:
    """The model's string columns and their lengths (None: unlimited text)."""
    return {column.name: getattr(column.type, "length", None)
            for column in model.__table__.columns
            if isinstance(column.type, String)}


def status_code(text: str | None, problems: Problems) -> int:
    """The HTTP status as a number in 100-599; else 0, with why."""
    if text is None:
        return 0
    try:
        status = int(text.strip())
    except ValueError:
        _note(problems, "status", f"unreadable status {text.strip()[:20]!r}: stored as 0")
        return 0
    return http_status(status, problems)


def http_status(status: int, problems: Problems) -> int:
    """`status` if it is an HTTP status (100-599); else 0, with why."""
    if not 100 <= status <= 599:
        _note(problems, "status", f"impossible status {str(status)[:20]}: stored as {NO_STATUS}")
        return NO_STATUS
    return status


def undecodable(raw: bytes, column: str, problems: Problems) -> None:
    """Header bytes that are not UTF-8 were read as ISO-8859-1 (warcio's fallback): say so."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        _note(problems, column, "not UTF-8: read as ISO-8859-1")


def url_refusal(url: str) -> str | None:
    """Why the catalogue cannot hold this URL, if it cannot."""
    if "\x00" in url:
        return "refused: its URL holds a NUL character, which the catalogue cannot store"
    size = len(url.encode("utf-8", "surrogatepass"))
    if size > URL_MAX_BYTES:
        return (f"refused: its URL is {size:,} bytes, over the {URL_MAX_BYTES:,} the "
                "catalogue's URL index can hold")
    return None


def _note(problems: Problems, column: str, why: str) -> None:
    problems[column] = f"{problems[column]}; {why}" if column in problems else why
