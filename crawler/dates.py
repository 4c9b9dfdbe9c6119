"""Dates as sites write them: ISO 8601 (sitemaps, Atom, meta tags) and RFC 822 (RSS)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_date(text: str | None) -> datetime | None:
    """An aware datetime (UTC assumed when no zone is given), or None if unreadable."""
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
