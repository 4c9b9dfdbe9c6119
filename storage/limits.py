"""Making a capture row fit the catalogue, whatever the server or the file said.

Why: the WARC record keeps every value as it came (any status line, any header bytes),
but the catalogue's columns have limits that differ by engine: PostgreSQL refuses NUL in
text and strings over a column's length, where SQLite takes anything. A row that does not
fit must not cost its batch (a whole crawl, a whole imported file): each value that does
not fit is normalised here, and what was done is recorded in `captures.problems`.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import TYPE_CHECKING

from storage.models import Capture

if TYPE_CHECKING:
    from storage.repository import NewCapture

NO_STATUS = 0  # the catalogue's word for "no usable HTTP status"
# Text columns with a length limit (name -> characters) whose values may be cut: not the
# ones that point at records (a cut pointer would name nothing), which must fit as they are.
_POINTERS = {"warc_file", "warc_record_id", "refers_to_record_id", "payload_digest"}
_LIMITS = {column.name: column.type.length for column in Capture.__table__.columns
           if getattr(column.type, "length", None) and column.name not in _POINTERS}


def fit_capture(capture: NewCapture) -> NewCapture:
    """`capture` with every value the catalogue cannot hold normalised, and why in `problems`."""
    problems = dict(capture.problems or {})
    changes: dict[str, object] = {}
    if capture.status != NO_STATUS and not 100 <= capture.status <= 599:
        problems["status"] = f"HTTP status {capture.status} is outside 100-599: catalogued as 0"
        changes["status"] = NO_STATUS
    for field in fields(capture):
        value = getattr(capture, field.name)
        if not isinstance(value, str) or field.name == "problems":
            continue
        fitted = value.replace("\x00", "\ufffd")
        if fitted != value:
            problems[field.name] = "held NUL characters: replaced by U+FFFD"
        limit = _LIMITS.get(field.name)
        if limit is not None and len(fitted) > limit:
            problems[field.name] = f"{len(fitted)} characters, over the column's {limit}: cut"
            fitted = fitted[:limit]
        if fitted != value:
            changes[field.name] = fitted
    if not changes:
        return capture
    return replace(capture, problems=problems, **changes)  # type: ignore[arg-type]
