"""`scrapy extract FILE...`: extract saved HTML pages (plain or .gz) with the crawl's extractor.

    scrapy extract page.html                       # the text on stdout
    scrapy extract --site vov -o texts/ pages/*.html.gz
    scrapy extract --url https://vov.vn/x-post1.vov page.html

Each FILE gives OUTDIR/<name>.txt, where <name> is the file name without `.gz` and without
`.html`/`.htm` (`a.html.gz` -> `a.txt`), in the seeds' text format. The hints are those of
`--site`, else of the profile whose hosts include `--url`'s host, else the defaults. Exit
status 1 if any file could not be extracted (each one's reason is printed) or OUTDIR cannot
be written (one line says why), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.config import setting
from crawler.exitcodes import ExitCode, one_line_errors, opened
from crawler.extraction.article import Extraction, extract_article, too_large
from crawler.profiles import ExtractHints, SiteProfile, profiles_of
from storage.catalogue.filing import writable_folder
from storage.warc.decoding import GZIP_MAGIC, DecodeError, TooLarge, gunzip

_HTML_SUFFIXES = (".html", ".htm", ".xhtml")


class Command(ScrapyCommand):
    requires_project = True
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "FILE [FILE ...] [-o OUTDIR]"

    def short_desc(self) -> str:
        return "Extract the article text of saved HTML files (plain or .gz)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="OUTDIR", help="folder for the .txt files")
        parser.add_argument("--url", help="the page's URL (chooses the site profile by its host, and tells "
                            "links to the same site, as in a crawl)")
        parser.add_argument("--site", help="use this site profile's extraction hints")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        files = [Path(arg) for arg in args]
        _check(files, opts)
        hints = _hints(profiles_of(self.settings), opts.site, opts.url)
        max_bytes = setting(self.settings, "EXTRACT_MAX_BYTES", int)
        with one_line_errors("extract"):
            output = opened(lambda: writable_folder(Path(opts.output)), opts.output) \
                if opts.output else None
            failed = 0
            for path in files:
                extraction = _extract_file(path, hints, max_bytes, opts.url)
                failed += not opened(partial(_deliver, path, extraction, output), str(output))
            self.exitcode = int(ExitCode.FAILED if failed else ExitCode.OK)


def _check(files: list[Path], opts: argparse.Namespace) -> None:
    if not files:
        raise UsageError("name the HTML files to extract")
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UsageError(f"no such file: {', '.join(missing)}")
    if len(files) > 1 and not opts.output:
        raise UsageError("several files need -o OUTDIR (one .txt per file goes there)")
    names = [output_name(path) for path in files]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise UsageError(f"these inputs would all be written as {', '.join(clashes)}: rename some")


def _hints(profiles: dict[str, SiteProfile], site: str | None, url: str | None) -> ExtractHints:
    if site:
        if site not in profiles:
            raise UsageError(f"no site profile {site!r} (known: {', '.join(sorted(profiles))})")
        return profiles[site].extract
    host = (urlsplit(url).hostname or "").lower() if url else ""
    for profile in profiles.values():
        if host and host in profile.hosts:
            return profile.extract
    return ExtractHints()


def _extract_file(path: Path, hints: ExtractHints, max_bytes: int, url: str | None) -> Extraction:
    """A `.gz` file is decompressed to at most `max_bytes`: past that it is `too_large`."""
    data = path.read_bytes()
    if data.startswith(GZIP_MAGIC):
        try:
            data = gunzip(data, max_bytes)
        except TooLarge as error:
            return too_large(error)
        except DecodeError as error:
            raise UsageError(f"{path}: looks like gzip but cannot be decompressed ({error})") from None
    return extract_article(data, content_type=None, hints=hints, max_bytes=max_bytes, url=url)


def output_name(path: Path) -> str:
    """`a.html.gz` -> `a.txt`; `page` -> `page.txt`."""
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    for suffix in _HTML_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[:-len(suffix)]
            break
    return name + ".txt"


def _deliver(path: Path, extraction: Extraction, output: Path | None) -> bool:
    """Write (or print) the text; report a failure on stderr. True if there was a text."""
    if extraction.article is None:
        failure = extraction.failure
        reason, detail = (failure.reason, failure.detail) if failure else ("error", "no text")
        print(f"FAILED {path}: {reason}: {detail}", file=sys.stderr)
        return False
    text = extraction.article.text
    if output is None:
        sys.stdout.write(text)
        return True
    target = output / output_name(path)
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(text.encode("utf-8"))
    partial.replace(target)
    return True
