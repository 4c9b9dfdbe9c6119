"""`scrapy warcimport PATH...`: catalogue other tools' WARC, ARC and WACZ files where they lie.

    scrapy warcimport /archives/2019/*.warc.gz   # files
    scrapy warcimport /archives/heritrix-job-42/  # every file in a folder (others are skipped)

Then `scrapy reextract` extracts their HTML pages like our own. Prints one line per file,
every bad record (file, offset, bytes skipped, reason), which is skipped while the rest of
its file is imported, and every capture imported with repaired values. Exit status 0 if
everything was imported (repairs are not failures), 1 if a file could not be imported or
had records that could not be, 2 for bad arguments; a catalogue that cannot be opened is
one line on stderr. Importing a file again changes nothing (see storage.importer).

Settings: IMPORT_MAX_RECORD_BYTES, IMPORT_MAX_EXTRACTED_BYTES, IMPORT_MAX_COMPRESSION_RATIO.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.exitcodes import ExitCode, one_line_errors, opened
from storage.db import open_catalogue
from storage.importer import FileReport, Importer, ImportLimits


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
            url = self.settings["DATABASE_URL"]
            sessions = opened(lambda: open_catalogue(url), url)
            importer = Importer(sessions, Path(self.settings["WARC_DIR"]), self._limits())
            reports = importer.run([Path(arg) for arg in args])
        print(format_reports(reports))
        failed = any(report.failed for report in reports)
        self.exitcode = int(ExitCode.FAILED if failed else ExitCode.OK)

    def _limits(self) -> ImportLimits:
        defaults = ImportLimits()
        return ImportLimits(
            max_record_bytes=self.settings.getint("IMPORT_MAX_RECORD_BYTES", defaults.max_record_bytes),
            max_extracted_bytes=self.settings.getint("IMPORT_MAX_EXTRACTED_BYTES",
                                                     defaults.max_extracted_bytes),
            max_compression_ratio=self.settings.getfloat("IMPORT_MAX_COMPRESSION_RATIO",
                                                         defaults.max_compression_ratio),
        )


def format_reports(reports: list[FileReport]) -> str:
    lines = [_line(report) for report in reports if report.outcome != "skipped"]
    for report in reports:
        lines += [f"  BAD RECORD {_where(report, p.part)} at offset {p.offset}: {p.code}: {p.reason}"
                  f"{_skipped(p.length)}" for p in report.problems]
        lines += [f"  REPAIRED {_where(report, r.part)} at offset {r.offset}: "
                  + "; ".join(f"{column}: {why}" for column, why in r.problems.items())
                  for r in report.repairs]
    skipped = [report for report in reports if report.outcome == "skipped"]
    imported = [report for report in reports if report.outcome == "imported"]
    lines.append(
        f"{len(imported)} files imported: {sum(r.responses for r in imported)} responses, "
        f"{sum(r.revisits for r in imported)} revisits ({sum(r.resolved for r in reports)} linked "
        f"to their original), {sum(r.duplicates for r in imported)} duplicates skipped, "
        f"{sum(len(r.problems) for r in reports)} bad records, "
        f"{sum(len(r.repairs) for r in reports)} with repaired values; "
        f"{sum(r.outcome == 'already imported' for r in reports)} already imported, "
        f"{sum(r.outcome == 'failed' for r in reports)} failed, {len(skipped)} skipped (not archives)"
    )
    return "\n".join(lines)


def _where(report: FileReport, part: str) -> str:
    return f"{report.path} ({part})" if part else report.path


def _skipped(length: int | None) -> str:
    return f" ({length} bytes skipped)" if length else ""


def _line(report: FileReport) -> str:
    if report.outcome != "imported":
        return f"{report.outcome.upper()}: {report.path}: {report.note}"
    text = (f"imported {report.path} ({report.format}): {report.records} records, "
            f"{report.responses} responses, {report.revisits} revisits ({report.resolved} linked), "
            f"{report.duplicates} duplicates, {len(report.problems)} bad, "
            f"{len(report.repairs)} repaired")
    return text + (f"; {report.note}" if report.note else "")
