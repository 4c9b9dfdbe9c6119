"""`pages/pages.jsonl`: the package's list of pages, one JSON object a line after a header
(format json-pages-1.0, as py-wacz writes it and ReplayWeb.page reads it: `url` and `ts` open
the page, `title` names it in the list, `text` feeds the full-text search)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Page", "page_line", "pages_header"]


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    url: str
    ts: datetime
    """The capture's fetch time: with `url`, what a replay opens."""
    title: str
    text: str | None
    """None where the text cannot be given (see the caller)."""


def pages_header(title: str, *, has_text: bool) -> str:
    header: dict[str, object] = {"format": "json-pages-1.0", "id": "pages", "title": title}
    if has_text:
        header["hasText"] = True
    return json.dumps(header, ensure_ascii=False) + "\n"


def page_line(page: Page) -> str:
    line: dict[str, object] = {"id": page.id, "url": page.url, "ts": iso_timestamp(page.ts),
                               "title": page.title}
    if page.text is not None:
        line["text"] = page.text
    return json.dumps(line, ensure_ascii=False) + "\n"


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second, as py-wacz writes `ts` (14-digit CDXJ times
    have no finer part, so a page's `ts` matches its capture's index line)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
