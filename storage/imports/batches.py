"""One pass over a WARC's records into the catalogue: each record made a row (or a bad
record) as it is met, then a batch at a time: records already catalogued skipped as
duplicates, the rest inserted, rows the database refuses reported, and the batch's
findings told in file order. What the pass inserted is named by its span of ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from storage.catalogue import repository
from storage.catalogue.imported import CaptureSpan
from storage.catalogue.repository import NewCapture
from storage.imports.reports import Finding, Findings, Repair, one_line
from storage.imports.rows import CaptureRows
from storage.warc.scanner import ScannedRecord, ScanProblem

__all__ = ["BATCH", "Counts", "catalogue_records", "insert_rows"]

logger = logging.getLogger(__name__)

BATCH = 500
"""Records met per batch: one duplicate query, one insert, then their findings are told."""


@dataclass
class Counts:
    """What one pass over a unit found and inserted: added to its file's report once the
    pass holds (a whole-file gzip's first pass is deleted and done again)."""

    place: str
    tell: Callable[[Finding], None]
    """The file's Progress: every finding, as it is counted."""
    records: int = 0
    responses: int = 0
    revisits: int = 0
    duplicates: int = 0
    findings: Findings = field(default_factory=Findings)
    first_id: int | None = None
    last_id: int | None = None

    def found(self, finding: Finding) -> None:
        self.findings.add(finding)
        self.tell(finding)

    def inserted(self, capture_id: int) -> None:
        self.first_id = capture_id if self.first_id is None else min(self.first_id, capture_id)
        self.last_id = capture_id if self.last_id is None else max(self.last_id, capture_id)

    @property
    def span(self) -> CaptureSpan | None:
        if self.first_id is None or self.last_id is None:
            return None
        return CaptureSpan(self.place, self.first_id, self.last_id)


Outcome = NewCapture | ScanProblem | None
"""What one record met becomes: a capture row, a bad record, or nothing to catalogue."""


def catalogue_records(session: Session, items: Iterable[ScannedRecord | ScanProblem],
                      rows: CaptureRows, counts: Counts, part: str) -> None:
    """Catalogue what the scan met (`part`: the WACZ entry it lies in, for reports)."""
    for batch in _batches(_outcomes(items, rows, part)):
        _catalogue_batch(session, batch, counts, part)


def _outcomes(items: Iterable[ScannedRecord | ScanProblem], rows: CaptureRows,
              part: str) -> Iterator[Outcome]:
    """One outcome per record met, made at once (records may hold large payloads)."""
    for item in items:
        if isinstance(item, ScanProblem):
            yield replace(item, part=part)
            continue
        try:
            row = rows.row(item)
        except Exception as error:  # one record's surprise must not cost the file
            logger.error("record at offset %d of %s", item.offset, rows.place.warc_file, exc_info=True)
            row = ScanProblem(item.offset, f"unexpected {type(error).__name__}: {one_line(error)}",
                              item.length, "bad_record")
        yield replace(row, part=part) if isinstance(row, ScanProblem) else row


def _catalogue_batch(session: Session, batch: list[Outcome], counts: Counts, part: str) -> None:
    """Insert the batch's new rows, then tell its bad records and repairs in file order."""
    counts.records += len(batch)
    found: list[Finding] = [outcome for outcome in batch if isinstance(outcome, ScanProblem)]
    rows = [outcome for outcome in batch if isinstance(outcome, NewCapture)]
    fresh = _not_yet_catalogued(session, rows, counts)
    ids, refused = insert_rows(session, fresh, part)
    found += refused
    for row in fresh:
        capture_id = ids.get(row.warc_record_id)
        if capture_id is None:
            continue
        counts.inserted(capture_id)
        if row.problems:
            found.append(Repair(row.warc_offset, row.problems, part))
        if row.warc_type == "revisit":
            counts.revisits += 1
        else:
            counts.responses += 1
    for finding in sorted(found, key=lambda finding: finding.offset):
        counts.found(finding)


def _not_yet_catalogued(session: Session, rows: list[NewCapture], counts: Counts) -> list[NewCapture]:
    """Rows whose record id is neither in the catalogue (earlier batches of this file
    included: same transaction) nor earlier in the batch; the others are duplicates."""
    known = repository.known_record_ids(session, (row.warc_record_id for row in rows))
    fresh = []
    for row in rows:
        if row.warc_record_id in known:
            counts.duplicates += 1
            continue
        known.add(row.warc_record_id)
        fresh.append(row)
    return fresh


def insert_rows(session: Session, rows: list[NewCapture],
                part: str) -> tuple[dict[str, int], list[ScanProblem]]:
    """The rows' capture ids, and those the database refused as problems: on PostgreSQL
    a refused batch is retried record by record under SAVEPOINTs, so a refused row costs
    only its record. SQLite's driver cannot nest them reliably, and refuses none of the
    values that are sanitised before."""
    if not rows or session.get_bind().dialect.name == "sqlite":
        return repository.insert_captures(session, rows), []
    ids, refused = repository.insert_captures_salvaging(session, rows)
    return ids, [ScanProblem(row.warc_offset, f"refused by the catalogue: {reason}", row.warc_length,
                             "refused", part) for row, reason in refused]


def _batches(outcomes: Iterable[Outcome]) -> Iterator[list[Outcome]]:
    batch: list[Outcome] = []
    for outcome in outcomes:
        batch.append(outcome)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
