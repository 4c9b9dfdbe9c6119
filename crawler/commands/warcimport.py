"""`scrapy warcimport PATH...`: catalogue other tools' WARC, ARC and WACZ files where they lie.

    scrapy warcimport /archives/2019/*.warc.gz   # files
    scrapy warcimport /archives/heritrix-job-42/  # every file in a folder (others are skipped)

Then `scrapy reextract` extracts their HTML pages like our own. Prints one line per file,
and every bad record (file, offset, reason), which is skipped while the rest of its file
is imported. Exit status 1 if anything failed: a file that could not be imported, or a
bad record in one that was. Importing a file again changes nothing (see storage.importer).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from storage.db import open_catalogue
from storage.importer import FileReport, Importer


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
        warc_dir = Path(self.settings["WARC_DIR"])
        importer = Importer(open_catalogue(self.settings["DATABASE_URL"]), warc_dir)
        reports = importer.run([Path(arg) for arg in args])
        print(format_reports(reports))
        self.exitcode = 1 if any(report.failed for report in reports) else 0


def format_reports(reports: list[FileReport]) -> str:
    lines = [_line(report) for report in reports if report.outcome != "skipped"]
    for report in reports:
        lines += [f"  BAD RECORD {report.path} at offset {p.offset}: {p.reason}" for p in report.problems]
    skipped = [report for report in reports if report.outcome == "skipped"]
    imported = [report for report in reports if report.outcome == "imported"]
    lines.append(
        f"{len(imported)} files imported: {sum(r.responses for r in imported)} responses, "
        f"{sum(r.revisits for r in imported)} revisits ({sum(r.resolved for r in reports)} linked "
        f"to their original), {sum(r.duplicates for r in imported)} duplicates skipped, "
        f"{sum(len(r.problems) for r in reports)} bad records; "
        f"{sum(r.outcome == 'already imported' for r in reports)} already imported, "
        f"{sum(r.outcome == 'failed' for r in reports)} failed, {len(skipped)} skipped (not archives)"
    )
    return "\n".join(lines)


def _line(report: FileReport) -> str:
    if report.outcome != "imported":
        return f"{report.outcome.upper()}: {report.path}: {report.note}"
    text = (f"imported {report.path} ({report.format}): {report.records} records, "
            f"{report.responses} responses, {report.revisits} revisits ({report.resolved} linked), "
            f"{report.duplicates} duplicates, {len(report.problems)} bad")
    return text + (f"; {report.note}" if report.note else "")
