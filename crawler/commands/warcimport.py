"""`scrapy warcimport PATH...`: catalogue other tools' WARC, ARC and WACZ files where they lie.

    scrapy warcimport /archives/2019/*.warc.gz   # files
    scrapy warcimport /archives/heritrix-job-42/  # every file in a folder (others are skipped)

Then `scrapy reextract` extracts their HTML pages like our own. Prints, as they are found,
every bad record (file, offset, bytes skipped, reason), which is skipped while the rest of
its file is imported, and every capture imported with repaired values (a file of millions
of them is printed as it goes, never held); then one line per file with its counts by kind,
and a summary. Exit status 0 if
everything was imported (repairs are not failures), 1 if a file could not be imported or
had records that could not be, 2 for bad arguments; a catalogue that cannot be opened is
one line on stderr. Importing a file again changes nothing (see storage.imports.importer).

With FRONTIER_URL set, every process started with the same paths (on any machine sharing the
catalogue and the files) takes files of one shared job through Redis (storage.imports.shared),
one file at a time, and exits when every file is done; it prints the files it imported.

Settings: IMPORT_MAX_RECORD_BYTES, IMPORT_MAX_EXTRACTED_BYTES, IMPORT_MAX_COMPRESSION_RATIO,
FRONTIER_URL, REDIS_TASK_LEASE.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import redis
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable, one_line_errors, opened, without_credentials
from crawler.sharedtasks import shared_tasks
from storage.catalogue.db import open_catalogue
from storage.imports.importer import Importer, ImportLimits
from storage.imports.reports import FileReport, Finding, Repair
from storage.imports.shared import import_shared


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "PATH [PATH ...]"

    def short_desc(self) -> str:
        return "Catalogue WARC, ARC and WACZ files of other tools, so they can be re-extracted"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if not args:
            raise UsageError("name the WARC, ARC or WACZ files (or folders) to import")
        missing = [arg for arg in args if not Path(arg).exists()]
        if missing:
            raise UsageError(f"no such file or folder: {', '.join(missing)}")
        with one_line_errors("warcimport"):
            url = setting(self.settings, "DATABASE_URL", str)
            sessions = opened(lambda: open_catalogue(url), url)
            warc_dir = Path(setting(self.settings, "WARC_DIR", str))
            importer = Importer(sessions, warc_dir, self._limits(), _Printed())
            paths = [Path(arg) for arg in args]
            shared = shared_tasks(self.settings, "warcimport",
                                  paths=sorted(str(p.absolute()) for p in paths),
                                  catalogue=without_credentials(url), warc_dir=str(warc_dir.absolute()))
            if shared is None:
                reports = importer.run(paths)
            else:
                try:
                    reports = import_shared(importer, paths, shared)
                except redis.RedisError as error:
                    raise Unusable(f"FRONTIER_URL: Redis failed during the job ({error}); the files "
                                   "imported stay imported: run the command again to finish") from error
        print(summary_line(reports))
        if shared is not None:
            print(f"Shared job {shared.prefix} (FRONTIER_URL): done; this process imported "
                  f"{len(reports)} of its {shared.state().total} files")
        failed = any(report.failed for report in reports)
        self.exitcode = int(ExitCode.FAILED if failed else ExitCode.OK)


    def _limits(self) -> ImportLimits:
        return ImportLimits(
            max_record_bytes=setting(self.settings, "IMPORT_MAX_RECORD_BYTES", int),
            max_extracted_bytes=setting(self.settings, "IMPORT_MAX_EXTRACTED_BYTES", int),
            max_compression_ratio=setting(self.settings, "IMPORT_MAX_COMPRESSION_RATIO", float),
        )


class _Printed:
    """Prints what the import finds while it imports (storage.imports.reports.Progress)."""

    def found(self, report: FileReport, finding: Finding) -> None:
        print(finding_line(report, finding))

    def finished(self, report: FileReport) -> None:
        if report.outcome != "skipped":
            print(file_line(report), flush=True)

    def linked_later(self, report: FileReport, count: int) -> None:
        print(f"  LINKED {count} more revisits of {report.path} to originals in files imported after it")


def finding_line(report: FileReport, finding: Finding) -> str:
    if isinstance(finding, Repair):
        return (f"  REPAIRED {_where(report, finding.part)} at offset {finding.offset}: "
                + "; ".join(f"{column}: {why}" for column, why in finding.problems.items()))
    return (f"  BAD RECORD {_where(report, finding.part)} at offset {finding.offset}: {finding.code}: "
            f"{finding.reason}{_skipped(finding.length)}")


def summary_line(reports: list[FileReport]) -> str:
    imported = [report for report in reports if report.outcome == "imported"]
    return (
        f"{len(imported)} files imported: {sum(r.responses for r in imported)} responses, "
        f"{sum(r.revisits for r in imported)} revisits ({sum(r.resolved for r in reports)} linked "
        f"to their original), {sum(r.duplicates for r in imported)} duplicates skipped, "
        f"{sum(r.findings.problem_count for r in reports)} bad records, "
        f"{sum(r.findings.repair_count for r in reports)} with repaired values; "
        f"{sum(r.outcome == 'already imported' for r in reports)} already imported, "
        f"{sum(r.outcome == 'failed' for r in reports)} failed, "
        f"{sum(r.outcome == 'skipped' for r in reports)} skipped (not archives)"
    )


def _where(report: FileReport, part: str) -> str:
    return f"{report.path} ({part})" if part else report.path


def _skipped(length: int | None) -> str:
    return f" ({length} bytes skipped)" if length else ""


def file_line(report: FileReport) -> str:
    if report.outcome != "imported":
        return f"{report.outcome.upper()}: {report.path}: {report.note}"
    findings = report.findings
    text = (f"imported {report.path} ({report.format}): {report.records} records, "
            f"{report.responses} responses, {report.revisits} revisits ({report.resolved} linked), "
            f"{report.duplicates} duplicates, {findings.problem_count} bad{_kinds(findings.problem_kinds)}, "
            f"{findings.repair_count} repaired{_kinds(findings.repair_kinds)}")
    return text + (f"; {report.note}" if report.note else "")


def _kinds(counts: Counter[str]) -> str:
    """` (truncated: 2, garbage: 1)`: what a file's thousands of lines above were about."""
    if not counts:
        return ""
    return " (" + ", ".join(f"{kind}: {count}" for kind, count in counts.most_common()) + ")"
