"""`scrapy warcimport`'s engine: catalogue other tools' WARC, ARC and WACZ files in place.

Why in place: archives are large and often live on their own storage; copying them would
double the space and the catalogue would then describe our copy, not the archive the user
keeps. So `captures.warc_file` holds the file's absolute path and the record's offset in
it (for a WACZ, the offset inside the .wacz: its WARCs are stored uncompressed). Copies are
made only where a record cannot be read by offset where it lies: whole-file gzip (rewritten
with one gzip member per record) and WACZ files that compressed their WARCs (taken out of
the zip); both go to `imported/` under the WARC directory.

Each file is imported in one transaction, together with its `imported_files` row (path,
size, SHA-256): importing it again is recognised and changes nothing, and a file whose
import failed half-way left nothing behind (no rows, and none of the copies it made).
Failure is per record, never per file or per command: a damaged record, a value the
catalogue cannot hold, a row the database refuses (on PostgreSQL each batch is inserted
under a SAVEPOINT and retried record by record) each cost that record only, and are
reported; an unexpected error costs its file only.

Memory stays bounded whatever the input: records are streamed (storage.warc.sources and
storage.warc.records; `ImportLimits` caps what is read), and nothing is kept per record. Bad
records and repairs go to a `Progress` as they are found, a batch at a time (the command
prints them); a `FileReport` counts them by kind and keeps only the first `KEPT` of each
(storage.imports.reports). Records already catalogued (same WARC-Record-ID, from another
file or earlier in the same one) are counted as duplicates and skipped: the catalogue is
asked a batch at a time (storage.imports.batches), and its unique index on the id is the
memory. What a file inserted is named by `CaptureSpan`s
(place, first and last id), not by id lists: its revisits are linked to their originals
through them, batch by batch, once the file is in and again once all the files of the
command are in; a whole-file gzip's first pass is deleted through one. Rows that existed
before are never changed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.catalogue import imported
from storage.dates import EARLIEST, LATEST
from storage.imports.batches import Counts, catalogue_records
from storage.imports.recompress import recompress
from storage.imports.reports import FileReport, Progress, Quiet, one_line
from storage.imports.revisits import resolve_revisits_in
from storage.imports.rows import CaptureRows, RecordPlace
from storage.imports.wacz import EntryRefused, Extraction, WaczError, WaczMember, extract_member, warc_members
from storage.warc.formats import Sniffed, sniff
from storage.warc.reader import IMPORTED_DIR
from storage.warc.scanner import ScanLimits, ScanProblem, SharedMembers, scan
from storage.warc.sources import Inflation

__all__ = ["ImportLimits", "Importer", "expand"]

logger = logging.getLogger(__name__)

PATH_MAX = 255  # captures.warc_file


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """The IMPORT_MAX_* settings: what one record, one gzip member and one extracted WACZ
    entry may take."""

    max_record_bytes: int = 1 << 30
    max_extracted_bytes: int = 8 << 30
    max_compression_ratio: float = 200.0

    @property
    def scan(self) -> ScanLimits:
        return ScanLimits(self.max_record_bytes, Inflation(self.max_compression_ratio))

    @property
    def extraction(self) -> Extraction:
        return Extraction(self.max_extracted_bytes, Inflation(self.max_compression_ratio))


@dataclass(frozen=True, slots=True)
class _Unit:
    """One stretch of WARC/ARC bytes to scan: a file, or a WARC stored inside a WACZ."""

    path: Path
    place: RecordPlace
    sniffed: Sniffed
    start: int = 0
    end: int | None = None
    part: str = ""
    """The WACZ entry's name, for reports."""


class Importer:
    def __init__(self, sessions: sessionmaker[Session], warc_dir: Path,
                 limits: ImportLimits | None = None, progress: Progress | None = None) -> None:
        self.sessions = sessions
        self.warc_dir = warc_dir
        self.limits = limits or ImportLimits()
        self.progress: Progress = progress or Quiet()
        self._written: list[Path] = []  # files and folders the current file's import made
        self._file_date = datetime.now(UTC)

    def run(self, paths: Sequence[Path]) -> list[FileReport]:
        """Import every file named, and every file in the folders named (sorted)."""
        reports = [self.import_file(path, named) for path, named in expand(paths)]
        self.resolve_across(reports)
        return reports

    # ---- one file ---------------------------------------------------------------------

    def import_file(self, path: Path, named: bool = True) -> FileReport:
        report = self._import_file(Path(os.path.abspath(path)), named)
        self.progress.finished(report)
        return report

    def _import_file(self, path: Path, named: bool) -> FileReport:
        report = FileReport(str(path))
        try:
            sniffed = sniff(path)
            self._file_date = _file_date(path)
        except OSError as error:
            return _failed(report, f"cannot read the file: {error.strerror}")
        report.format = _format_name(sniffed)
        if sniffed.kind is None:
            report.outcome = "failed" if named else "skipped"
            report.note = "not a WARC, ARC or WACZ file (its first bytes say so)"
            return report
        if len(str(path)) > PATH_MAX:
            return _failed(report, f"its path is longer than {PATH_MAX} characters: import it "
                                   "through a shorter path (move it, or link to it)")
        self._written = []
        try:
            size, sha256 = _size_and_sha256(path)
            with self.sessions.begin() as session:
                self._import(session, path, sniffed, size, sha256, report)
        except (OSError, SQLAlchemyError, WaczError) as error:
            logger.debug("import of %s failed", path, exc_info=True)
            return self._undone(report, f"nothing imported: {one_line(error)}")
        except Exception as error:  # a bug met on one file must not cost the others
            logger.error("import of %s failed", path, exc_info=True)
            return self._undone(report, f"nothing imported: unexpected {type(error).__name__}: "
                                        f"{one_line(error)}")
        return report

    def _undone(self, report: FileReport, note: str) -> FileReport:
        """The transaction was rolled back: remove the copies it made, count nothing
        (its bad records stay reported: they are why)."""
        for made in reversed(self._written):
            if made.is_dir():
                shutil.rmtree(made, ignore_errors=True)
            else:
                made.unlink(missing_ok=True)
        report.responses = report.revisits = report.duplicates = report.resolved = 0
        report.findings.forget_repairs()
        report.spans, report.stored_as = [], None
        return _failed(report, note)

    def _import(self, session: Session, path: Path, sniffed: Sniffed, size: int, sha256: str,
                report: FileReport) -> None:
        earlier = imported.imported_file(session, str(path), size, sha256)
        if earlier is not None:
            report.outcome = "already imported"
            report.note = (f"on {earlier.imported_at:%Y-%m-%d %H:%M} UTC ({earlier.captures} captures, "
                           f"{earlier.problems} bad records then): nothing changed")
            return
        for unit in self._units(path, sniffed, sha256, report):
            self._add(report, self._import_unit(session, unit, report))
        report.resolved = sum(resolve_revisits_in(session, span) for span in report.spans)
        imported.add_imported_file(
            session, path=str(path), size=size, sha256=sha256, format=report.format,
            stored_as=report.stored_as, records=report.records, captures=report.captures,
            duplicates=report.duplicates, problems=report.findings.problem_count,
        )

    def _found(self, report: FileReport, problem: ScanProblem) -> None:
        """A problem of the file itself (a WACZ entry refused), not of one pass over a unit."""
        report.findings.add(problem)
        self.progress.found(report, problem)

    def _units(self, path: Path, sniffed: Sniffed, sha256: str, report: FileReport) -> list[_Unit]:
        if sniffed.kind != "wacz":
            return [_Unit(path, RecordPlace(str(path), sha256), sniffed)]
        members, refused = warc_members(path)
        for entry in refused:
            self._found(report, ScanProblem(0, entry.reason, None, entry.code, entry.name))
        units = []
        for member in members:
            try:
                units.append(self._member_unit(path, sha256, member, report))
            except EntryRefused as entry:
                self._found(report, ScanProblem(member.data_offset or 0, entry.reason, None,
                                                entry.code, member.name))
        return units
    def _member_unit(self, path: Path, sha256: str, member: WaczMember, report: FileReport) -> _Unit:
        place = RecordPlace(str(path), sha256)
        if member.data_offset is not None:  # stored: read in place, inside the .wacz
            unit = _Unit(path, place, sniff(path, member.data_offset), member.data_offset,
                         member.data_offset + member.size, member.name)
            if unit.sniffed.kind not in ("warc", "arc"):
                raise EntryRefused(member.name, f"{member.name} is not a WARC file: skipped",
                                   "not_archive")
            return unit
        folder = f"{IMPORTED_DIR}/{path.name}-{sha256[:12]}"
        name = f"{folder}/{member.relative}"
        if len(name) > PATH_MAX:  # catalogue column: a short name derived from the entry's
            name = f"{folder}/{hashlib.sha256(member.name.encode()).hexdigest()[:24]}.warc"
        self._will_write(self.warc_dir / folder)
        extracted = extract_member(path, member, self._will_write(self.warc_dir / name),
                                   self.limits.extraction)
        report.stored_as = folder
        report.note = f"its WARCs are compressed inside the zip: extracted into {folder}"
        return _Unit(extracted, RecordPlace(name, sha256), sniff(extracted), part=member.name)

    def _will_write(self, target: Path) -> Path:
        """Note a copy this import is about to make, unless it is there already (an earlier
        import of the same content made it, and its rows may point into it)."""
        if not target.exists():
            self._written.append(target)
        return target

    def _import_unit(self, session: Session, unit: _Unit, report: FileReport) -> Counts:
        counts = self._counts(unit.place, report)
        try:
            self._catalogue(session, unit, counts)
            return counts
        except SharedMembers as shared:
            if counts.span is not None:
                imported.delete_captures_in(session, counts.span)
            logger.info("%s: %s; recompressing", unit.path, shared)
        fixed, problems = self._recompress(unit)
        report.stored_as = fixed.place.warc_file
        report.note = (f"whole-file gzip (records cannot be read by offset): rewritten with one gzip "
                       f"member per record into {fixed.place.warc_file} and imported from there")
        counts = self._counts(fixed.place, report)
        for problem in problems:
            counts.found(replace(problem, part=unit.part))
        self._catalogue(session, fixed, counts)
        return counts

    def _counts(self, place: RecordPlace, report: FileReport) -> Counts:
        return Counts(place.warc_file, lambda finding: self.progress.found(report, finding))

    def _recompress(self, unit: _Unit) -> tuple[_Unit, list[ScanProblem]]:
        suffix = ".arc.gz" if unit.sniffed.kind == "arc" else ".warc.gz"
        inside = f"-{unit.start}" if unit.start else ""  # a WARC inside a WACZ: where it starts
        name = f"{IMPORTED_DIR}/{unit.path.name}-{unit.place.file_sha256[:12]}{inside}{suffix}"
        target = self._will_write(self.warc_dir / name)
        with open(unit.path, "rb") as handle:
            problems = recompress(handle, unit.sniffed, target, start=unit.start, end=unit.end,
                                  limits=self.limits.scan)
        fixed = _Unit(target, RecordPlace(name, unit.place.file_sha256), sniff(target), part=unit.part)
        return fixed, problems

    def _catalogue(self, session: Session, unit: _Unit, counts: Counts) -> None:
        rows = CaptureRows(unit.place, self._file_date)
        with open(unit.path, "rb") as handle:
            items = scan(handle, unit.sniffed, start=unit.start, end=unit.end, limits=self.limits.scan)
            catalogue_records(session, items, rows, counts, unit.part)

    @staticmethod
    def _add(report: FileReport, counts: Counts) -> None:
        report.records += counts.records
        report.responses += counts.responses
        report.revisits += counts.revisits
        report.duplicates += counts.duplicates
        report.findings.merge(counts.findings)
        if counts.span is not None:
            report.spans.append(counts.span)

    # ---- across files -------------------------------------------------------------------

    def resolve_across(self, reports: list[FileReport]) -> None:
        """Revisits whose original came in a later file of the same command."""
        pending = [r for r in reports if r.outcome == "imported" and r.resolved < r.revisits]
        if not pending:
            return
        with self.sessions.begin() as session:
            for report in pending:
                linked = sum(resolve_revisits_in(session, span) for span in report.spans)
                report.resolved += linked
                if linked:
                    self.progress.linked_later(report, linked)


def expand(paths: Sequence[Path]) -> Iterator[tuple[Path, bool]]:
    for path in paths:
        if path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.is_file()):
                yield found, False
        else:
            yield path, True


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _file_date(path: Path) -> datetime:
    """The file's modification time: the date of last resort for its records."""
    moment = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return moment if EARLIEST <= moment < LATEST else datetime.now(UTC)


def _format_name(sniffed: Sniffed) -> str:
    if sniffed.kind is None:
        return "unknown"
    return sniffed.kind + (".gz" if sniffed.gzip else "")


def _failed(report: FileReport, note: str) -> FileReport:
    report.outcome = "failed"
    report.note = note
    return report
