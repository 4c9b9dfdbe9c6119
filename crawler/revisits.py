"""How an exchange is archived: whole, or as a revisit of the URL's last capture.

Why apart from the recrawl middleware: this is decided when a response is written (by the
archive's thread), from the capture the catalogue holds, whatever made the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.catalogue.frontier import CaptureState
from storage.warc.exchange import Revisit


@dataclass(frozen=True, slots=True)
class Stored:
    """How an exchange is archived, and what it means for the article (None for hubs)."""

    revisit: Revisit | None
    outcome: str | None  # new, changed, unchanged, not_modified, gone, failed


def how_to_store(kind: str | None, status: int, payload_digest: str,
                 previous: CaptureState | None) -> Stored:
    """A 304 or a payload identical to the URL's last one becomes a revisit record that
    refers to the record holding the payload; everything else is a full response record."""
    revisit = None
    # only a capture with a payload (2xx, or a 304 standing for one) can be referred to:
    # never an error page that a retry or a conditional request followed
    referable = previous is not None and (200 <= previous.status < 300 or previous.status == 304)
    if referable and (status == 304 or (
            200 <= status < 300 and payload_digest == previous.payload_digest)):
        revisit = Revisit(
            profile="server-not-modified" if status == 304 else "identical-payload-digest",
            refers_to_record_id=previous.payload_record_id, refers_to_uri=previous.url,
            refers_to_date=previous.payload_fetched_at, payload_digest=previous.payload_digest,
        )
    return Stored(revisit, _outcome(status, previous, revisit) if kind == "article" else None)


def _outcome(status: int, previous: CaptureState | None, revisit: Revisit | None) -> str | None:
    if 300 <= status < 400 and status != 304:
        return None  # a redirect: its target counts
    if revisit is not None:
        return "not_modified" if status == 304 else "unchanged"
    if 200 <= status < 300:
        return "changed" if previous is not None and 200 <= previous.status < 400 else "new"
    if status in (404, 410) and previous is not None:
        return "gone"
    return "failed"
