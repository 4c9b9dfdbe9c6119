"""Values from other tools' records made fit for the catalogue's columns, with the reason
each change was needed.

Why this module exists: one odd value (a NUL byte, a 300-character Content-Type, status
999, a header line that is not UTF-8) must never cost its record, let alone its file:
PostgreSQL refuses NUL in text and over-long values outright, where SQLite would keep
them. So a value is repaired (NUL removed, cut to the column's length, an impossible
status stored as 0) and the repair noted in `problems` ({column: why}), which becomes the
capture's `problems` column; the WARC record keeps the value as sent. Only a URL the
catalogue cannot hold (NUL, longer than its index allows) refuses the record.
"""

from __future__ import annotations

__all__ = ["URL_MAX_BYTES", "Problems", "fitted", "status_code", "undecodable", "url_refusal"]

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


def status_code(text: str | None, problems: Problems) -> int:
    """The HTTP status as a number in 100-599; else 0, with why."""
    if text is None:
        return 0
    try:
        status = int(text.strip())
    except ValueError:
        _note(problems, "status", f"unreadable status {text.strip()[:20]!r}: stored as 0")
        return 0
    if not 100 <= status <= 599:
        _note(problems, "status", f"impossible status {str(status)[:20]}: stored as 0")
        return 0
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
