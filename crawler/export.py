"""What `scrapy export` writes: one record per article (its newest selected version), or every
version with `versions=True`, each with its text, metadata and WARC pointers.

Where a version's text comes from, and why: the text file holds its URL's newest text only.
A version whose text the file holds (checked by `text_sha1`) takes it from there. An older
version is extracted again from the record holding its payload, when the extractor that made
it is the current one (the extraction is deterministic), and kept only if its SHA-1 is the
version's: never a text the version did not have. Otherwise, and for a newest version whose
file is missing or unreadable, `text` is null and `problems.text` says why; the record is
written all the same, and counted in the summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from crawler.extraction.article import EXTRACTOR_VERSION
from crawler.profiles import ExtractHints, SiteProfile
from crawler.reextract.run import Extractor
from crawler.reextract.select import WorkItem
from crawler.selection import Selection, SiteOf
from storage.catalogue.selection import CaptureRow, Version, versions_by_url
from storage.exports.records import Pointer, article_record
from storage.textfiles import NoText, TextFile, checked_text, read_text_file, text_sha1_of

__all__ = ["Exported", "TextSource", "records"]


@dataclass
class Exported:
    """What an export wrote, for its summary."""

    records: int = 0
    urls: int = 0
    reextracted: int = 0
    without_text: Counter[str] = field(default_factory=Counter)


class TextSource:
    """The text of a version: its text file, else (older versions) its record extracted again."""

    def __init__(self, text_dir: Path, warc_dir: Path, profiles: dict[str, SiteProfile],
                 max_bytes: int) -> None:
        self.text_dir = text_dir
        self._last_file: tuple[str, TextFile | NoText] | None = None
        hints: dict[str | None, ExtractHints] = {name: p.extract for name, p in profiles.items()}
        hints[None] = ExtractHints()
        self.extractor = Extractor(hints, max_bytes, warc_dir)

    def text(self, version: Version, site: str | None,
             payload: Pointer | None) -> tuple[str | None, NoText | None, bool]:
        """(text, why there is none, whether it was extracted again)."""
        document = version.document
        found = checked_text(self._file(document.text_path), document.text_path, document.text_sha1)
        if isinstance(found, str):
            return found, None, False
        if version.newest:  # the file should hold it: say what is wrong with the file
            return None, found, False
        return self._reextracted(version, site, payload)

    def _file(self, text_path: str) -> TextFile | NoText:
        """The text file, read once for all the versions of its URL (they come together)."""
        if self._last_file is None or self._last_file[0] != text_path:
            self._last_file = (text_path, read_text_file(self.text_dir, text_path))
        return self._last_file[1]

    def _reextracted(self, version: Version, site: str | None,
                     payload: Pointer | None) -> tuple[str | None, NoText | None, bool]:
        document, capture = version.document, version.capture
        if document.extractor_version != EXTRACTOR_VERSION:
            return None, NoText("older_extractor", (
                f"an older version, made by extractor {document.extractor_version}: the text file "
                f"holds the newest only, and the current extractor ({EXTRACTOR_VERSION}) may not "
                "give the same text back")), False
        if payload is None:
            return None, NoText("unresolved_revisit", "an older version whose revisit's original "
                                                      "record is not in the catalogue"), False
        item = WorkItem(capture.id, capture.url, capture.fetched_at, site,
                        capture.content_type or capture.original_content_type,
                        payload.warc_file, payload.offset, payload.length)
        extracted = self.extractor.one(item)
        if extracted.text is None:
            return None, NoText("reextraction_failed", f"an older version, extracted again from "
                                f"its record: {extracted.failure}: {extracted.detail}"), True
        if text_sha1_of(extracted.text) != document.text_sha1:
            return None, NoText("reextraction_differs", "an older version, extracted again from its "
                                "record: the text differs from the one recorded (text_sha1), so "
                                "the site profile's hints changed since"), True
        return extracted.text, None, True


def records(session: Session, selection: Selection, profiles: dict[str, SiteProfile],
            texts: TextSource, *, versions: bool, tally: Exported) -> Iterator[dict[str, Any]]:
    """The records to write, URL after URL (sorted), oldest version first; streamed."""
    site_of = SiteOf(profiles)
    for _url, found in versions_by_url(session, selection.narrowing):
        chosen = [(v, _site(site_of, v)) for v in found
                  if selection.admits(v.capture.site, v.capture.url, site_of)]
        if not chosen:
            continue
        tally.urls += 1
        for version, site in chosen if versions else chosen[-1:]:
            yield _record(version, site, texts, tally)


def _site(site_of: SiteOf, version: Version) -> str | None:
    profile = site_of(version.capture.site, version.capture.url)
    return profile.name if profile else None


def _record(version: Version, site: str | None, texts: TextSource, tally: Exported) -> dict[str, Any]:
    document, capture = version.document, version.capture
    payload = payload_of(capture)
    text, missing, reextracted = texts.text(version, site, payload)
    tally.records += 1
    tally.reextracted += reextracted
    if missing is not None:
        tally.without_text[missing.kind] += 1
    return article_record(
        url=document.url, title=document.title, text=text, text_path=document.text_path,
        extractor_version=document.extractor_version, fetched_at=capture.fetched_at,
        pointer=Pointer.of(capture),
        payload=payload,
        fields={name: getattr(document, name) for name in (
            "published_at", "modified_at", "author", "section", "tags", "language", "canonical_url")},
        problems={"text": missing.detail} if missing else None,
    )


def payload_of(capture: CaptureRow) -> Pointer | None:
    """The record holding the capture's payload: its own, a revisit's original's, or None (a
    revisit whose original is not catalogued)."""
    if capture.warc_type != "revisit":
        return Pointer.of(capture)
    if capture.original_file is None:
        return None
    assert capture.original_offset is not None and capture.original_length is not None
    return Pointer(capture.original_file, capture.original_offset, capture.original_length,
                   capture.original_record_id or "")
