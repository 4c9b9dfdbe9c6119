"""`scrapy versions URL`: every extracted version of an article, with dates, and a diff.

The text file holds the newest version only; older texts are derived again from their
WARC records (the archive is the truth), with the current extractor. A revisit's record
holds headers only: its text is read from the record it refers to. Records are read with
`read_capture`, so captures imported from other tools' files diff like our own.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.extraction.article import extract_article, too_large
from crawler.profiles import profiles_of
from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Capture
from storage.warc.decoding import TooLarge
from storage.warc.reader import read_capture


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[options] URL"

    def short_desc(self) -> str:
        return "List the versions of an article (dates, digests) and diff the last two"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--diff", action="store_true",
                            help="show the differences between the last two versions")
        parser.add_argument("--site", default="vov", help="site profile for extraction hints")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one URL")
        sessions = open_catalogue(setting(self.settings, "DATABASE_URL", str))
        with sessions() as session:
            versions = repository.document_versions(session, args[0])
            holders = [repository.payload_capture(session, capture)  # only a diff reads them
                       for _, capture in versions[-2:]] if opts.diff else []
        if not versions:
            print(f"No extracted version of {args[0]} in the catalogue.")
            self.exitcode = 1
            return
        for number, (document, capture) in enumerate(versions, 1):
            print(f"{number:>3}  fetched {capture.fetched_at:%Y-%m-%d %H:%M:%S} UTC  "
                  f"extracted {document.extracted_at:%Y-%m-%d %H:%M:%S} UTC  "
                  f"text sha1 {document.text_sha1[:12]}  {document.extractor_version}  "
                  f"{document.title}")
        if opts.diff and len(versions) > 1:
            hints = profiles_of(self.settings)[opts.site].extract
            old, new = (self.text_of(capture, holder, hints)
                        for (_, capture), holder in zip(versions[-2:], holders, strict=True))
            print("".join(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f"version {len(versions) - 1}", tofile=f"version {len(versions)}")))

    def text_of(self, capture: Capture, holder: Capture | None, hints) -> str:  # type: ignore[no-untyped-def]
        """The text of `capture`, read from `holder`, the capture whose record holds its payload."""
        if holder is None:
            return "(no text: the revisit's original record is not in the catalogue)\n"
        max_bytes = setting(self.settings, "EXTRACT_MAX_BYTES", int)
        record = read_capture(Path(setting(self.settings, "WARC_DIR", str)), holder.warc_file,
                              holder.warc_offset, holder.warc_length, decode_limit=max_bytes)
        if isinstance(record.decode_error, TooLarge):  # never inflated whole
            extraction = too_large(record.decode_error)
        else:
            extraction = extract_article(
                record.decoded_payload, content_type=capture.content_type or holder.content_type,
                hints=hints, max_bytes=max_bytes, url=capture.url)
        if extraction.article is None:
            return f"(extraction failed: {extraction.failure})\n"
        return extraction.article.text
