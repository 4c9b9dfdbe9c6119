"""Link imported revisit records to the response records that hold their payload.

Why this module exists: a revisit record has headers only; its text lives in an earlier
response. Tools say which one in different ways or not at all: `WARC-Refers-To` (the
record id), or only the payload digest (pywb, ArchiveWeb.page, warcprox). Re-extraction
reads the original's payload through `captures.refers_to_capture_id`, filled here.

Choice among several responses with the revisit's digest: the same URL captured at or
before the revisit, latest first; then the same URL later; then any URL (the payload is
identical by definition, which is what URI-agnostic revisits rely on).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.catalogue import imported
from storage.catalogue.imported import CaptureRef, CaptureSpan

__all__ = ["resolve_revisits_in"]

BATCH = 500


def resolve_revisits_in(session: Session, span: CaptureSpan) -> int:
    """Fill in the original of the span's unresolved revisits, a batch at a time (a file
    may hold millions); return how many were resolved now."""
    resolved, after_id = 0, span.first_id - 1
    while revisits := imported.unresolved_revisits_in(session, span, after_id=after_id, limit=BATCH):
        resolved += _resolve(session, revisits)
        after_id = revisits[-1].id
    return resolved


def _resolve(session: Session, revisits: list[CaptureRef]) -> int:
    by_id = imported.responses_by_record_id(
        session, (r.refers_to_record_id for r in revisits if r.refers_to_record_id))
    by_digest = imported.responses_by_digest(session, (r.payload_digest for r in revisits))
    originals: dict[int, CaptureRef] = {}
    for revisit in revisits:
        original = by_id.get(revisit.refers_to_record_id or "") or \
            best_original(revisit, by_digest.get(revisit.payload_digest, []))
        if original is not None:
            originals[revisit.id] = original
    imported.set_revisit_originals(session, originals)
    return len(originals)


def best_original(revisit: CaptureRef, candidates: list[CaptureRef]) -> CaptureRef | None:
    same_url = [c for c in candidates if c.url == revisit.url]
    for pool in (same_url, candidates):
        before = [c for c in pool if c.fetched_at <= revisit.fetched_at]
        if before:
            return max(before, key=lambda c: (c.fetched_at, c.id))
        if pool:
            return min(pool, key=lambda c: (c.fetched_at, c.id))
    return None
