"""`scrapy export`: the catalogue's articles as one record each, with text and metadata.

    scrapy export -o articles.jsonl             # each article's newest version (JSON lines)
    scrapy export -o articles.csv --versions    # every version, oldest first per URL
    scrapy export -o - --site vov --since 2025-01-01 | jq .title

Fields and their meaning: storage.exports.records; where texts come from: crawler.export.
The file appears whole, or not at all. Exit status (crawler.exitcodes): 0 written (records
without text are counted on stderr, not a failure); 1 the catalogue, the text folder or the
output cannot be used (one line says why); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable, one_line_errors, opened, output_errors
from crawler.export import Exported, TextSource, records
from crawler.profiles import profiles_of
from crawler.selection import add_selection_options, selection_of
from storage.catalogue.db import open_catalogue
from storage.exports.writers import FORMATS, format_of, open_output, record_writer


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "-o FILE [options]"

    def short_desc(self) -> str:
        return "Write every article (text, metadata, WARC pointer) to a JSON lines or CSV file"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE",
                            help="where to write (.jsonl or .csv; '-' for JSON lines on stdout)")
        parser.add_argument("--format", choices=FORMATS, help="the format, whatever FILE's extension")
        parser.add_argument("--versions", action="store_true",
                            help="every extracted version of each article, oldest first")
        add_selection_options(parser)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if args:
            raise UsageError(f"unexpected arguments {args}: export takes options only")
        if not opts.output:
            raise UsageError("give the output file: -o FILE.jsonl, -o FILE.csv or -o - (stdout)")
        format_name = format_of(opts.output, opts.format)
        if format_name is None:
            raise UsageError(f"cannot tell the format of {opts.output!r}: name it .jsonl or .csv, "
                             f"or give --format {'/'.join(FORMATS)}")
        with one_line_errors("export"):
            self.exitcode = int(self._export(opts, format_name))

    def _export(self, opts: argparse.Namespace, format_name: str) -> ExitCode:
        settings = self.settings
        profiles = profiles_of(settings)
        selection = selection_of(opts, profiles)
        url = setting(settings, "DATABASE_URL", str)
        text_dir = Path(setting(settings, "EXTRACT_TEXT_DIR", str))
        if not text_dir.is_dir():
            raise Unusable(f"the text folder {text_dir} does not exist: set DATA_DIR or "
                           "-s EXTRACT_TEXT_DIR=... to the folder the crawl wrote texts to")
        sessions = opened(lambda: open_catalogue(url), url)
        texts = TextSource(text_dir, Path(setting(settings, "WARC_DIR", str)), profiles,
                           setting(settings, "EXTRACT_MAX_BYTES", int))
        started, tally = time.monotonic(), Exported()

        def write() -> None:
            with sessions() as session:
                # texts and records fail per record: an OSError here is the output's
                with output_errors("stdout" if opts.output == "-" else opts.output), \
                        open_output(opts.output) as stream:
                    writer = record_writer(stream, format_name)
                    for record in records(session, selection, profiles, texts,
                                          versions=opts.versions, tally=tally):
                        writer.write(record)

        opened(write, url)
        print(summary(tally, opts.output, time.monotonic() - started), file=sys.stderr)
        return ExitCode.OK


def summary(tally: Exported, target: str, elapsed: float) -> str:
    where = "stdout" if target == "-" else target
    lines = [f"Exported {tally.records} records ({tally.urls} articles) to {where} in {elapsed:.1f} s"]
    if tally.reextracted:
        lines.append(f"  re-extracted   {tally.reextracted}  (older versions, from their WARC records)")
    missing = sum(tally.without_text.values())
    reasons = ", ".join(f"{kind}: {n}" for kind, n in sorted(tally.without_text.items()))
    lines.append(f"  without text   {missing}" + (f"  ({reasons}; see each record's problems)"
                                                   if missing else ""))
    return "\n".join(lines)
