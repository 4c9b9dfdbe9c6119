"""What an import found, file by file: the `FileReport` the command prints and the tests
check, its bad records and repairs (`Findings`), and the `Progress` told of each as it is
found. A report keeps only the first `KEPT` findings of each kind and counts the rest:
memory stays bounded however bad a file is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from storage.catalogue.imported import CaptureSpan
from storage.warc.scanner import ScanProblem

__all__ = ["KEPT", "FileReport", "Finding", "Findings", "Progress", "Quiet", "Repair", "one_line"]

KEPT = 100
"""Bad records and repairs a FileReport keeps (of each): enough to show, never millions."""


@dataclass(frozen=True, slots=True)
class Repair:
    """A capture imported with values repaired: {column: why}, also in `captures.problems`."""

    offset: int
    problems: dict[str, str]
    part: str = ""


Finding = ScanProblem | Repair


@dataclass
class Findings:
    """Bad records and repairs: every one counted by kind (a problem's code, a repaired
    column), the first `KEPT` of each kept."""

    problems: list[ScanProblem] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    problem_kinds: Counter[str] = field(default_factory=Counter)
    repair_kinds: Counter[str] = field(default_factory=Counter)
    repair_count: int = 0

    @property
    def problem_count(self) -> int:
        return self.problem_kinds.total()

    def add(self, finding: Finding) -> None:
        if isinstance(finding, Repair):
            self.repair_count += 1
            self.repair_kinds.update(finding.problems.keys())
            if len(self.repairs) < KEPT:
                self.repairs.append(finding)
        else:
            self.problem_kinds[finding.code] += 1
            if len(self.problems) < KEPT:
                self.problems.append(finding)

    def merge(self, other: Findings) -> None:
        self.problems += other.problems[:KEPT - len(self.problems)]
        self.repairs += other.repairs[:KEPT - len(self.repairs)]
        self.problem_kinds.update(other.problem_kinds)
        self.repair_kinds.update(other.repair_kinds)
        self.repair_count += other.repair_count

    def forget_repairs(self) -> None:
        """Their captures were rolled back."""
        self.repairs, self.repair_kinds, self.repair_count = [], Counter(), 0


@dataclass
class FileReport:
    """What happened to one file: the command prints it, the tests check it."""

    path: str
    format: str = ""
    outcome: str = "imported"
    """imported, already imported, skipped (not an archive, found in a folder) or failed."""
    records: int = 0
    responses: int = 0
    revisits: int = 0
    resolved: int = 0
    duplicates: int = 0
    findings: Findings = field(default_factory=Findings)
    stored_as: str | None = None
    note: str = ""
    spans: list[CaptureSpan] = field(default_factory=list, repr=False)
    """What it inserted, one span per WARC scanned (a WACZ may hold several)."""

    @property
    def problems(self) -> list[ScanProblem]:
        """The first `KEPT` bad records (`findings.problem_count` counts them all)."""
        return self.findings.problems

    @property
    def repairs(self) -> list[Repair]:
        """The first `KEPT` captures with repaired values (`findings.repair_count`: all)."""
        return self.findings.repairs

    @property
    def failed(self) -> bool:
        return self.outcome == "failed" or self.findings.problem_count > 0

    @property
    def captures(self) -> int:
        return self.responses + self.revisits


class Progress(Protocol):
    """Told what an import finds as it finds it (the command prints it): a FileReport keeps
    only the first findings, so this is where every one is seen."""

    def found(self, report: FileReport, finding: Finding) -> None:
        """A bad record or a repair, a batch at a time, in file order within the batch."""

    def finished(self, report: FileReport) -> None:
        """The file is done: imported, already imported, skipped or failed."""

    def linked_later(self, report: FileReport, count: int) -> None:
        """`count` more of its revisits were linked to originals in files imported after it."""


class Quiet:
    """A Progress that tells no one."""

    def found(self, report: FileReport, finding: Finding) -> None:
        pass

    def finished(self, report: FileReport) -> None:
        pass

    def linked_later(self, report: FileReport, count: int) -> None:
        pass


def one_line(error: object) -> str:
    """An error's message on one line, cut to 300 characters: reports are read line by line."""
    return " ".join(str(error).split())[:300]
