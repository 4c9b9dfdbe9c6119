"""The one filer of extracted texts, used by the crawl (its archive thread) and by
`scrapy reextract`: a text file and its `documents` row, or an `extraction_failures` row.

Why one: the job existed twice and the copies drifted (the crawl rewrote every file and
recorded a failure as often as it was filed again; re-extraction did neither). One
behaviour now, whoever extracted the text:

* a text file is named by its URL's `articles` row (`name_texts`), committed on its own
  before any file is written: a run killed, or a batch failing, after a file is written
  leaves it under the name its URL keeps, which the next filing reuses, never a file no
  row names (on PostgreSQL a rolled-back row's id is not given again);
* the file is written (atomically, under that same stable name) only when its bytes
  differ from what is on disk, or it is missing: that is how a deleted `text/` comes
  back, while an unchanged text leaves its file untouched (same inode, same mtime);
* a `documents` row is added only when the text differs from the URL's newest document;
* a failure is recorded once per capture, reason and extractor version, with its detail.

Plain values in, plain values out: the callers' extraction types stay in `crawler/`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from storage.catalogue import repository
from storage.catalogue.repository import NewDocument, NewFailure
from storage.dates import utc_now
from storage.textfiles import text_sha1_of, write_text_file

__all__ = ["CHANGED", "FAILED", "NEW", "UNCHANGED", "Extracted", "Filed", "TextFiler",
           "writable_folder"]

NEW, CHANGED, UNCHANGED, FAILED = "new", "changed", "unchanged", "failed"
"""What filing did to a URL's text: its first, a different one, the same again; or a failure."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """What an extractor made of one capture: a text with its `documents` columns, or a failure."""

    url: str
    capture_id: int
    extractor_version: str
    title: str | None = None
    text: str | None = None
    fields: dict[str, Any] | None = None
    """`documents` columns read from the page (published_at, ...), as of the capture."""
    failure: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Filed:
    """Where an extraction went: its text file, or the reason it failed."""

    text_path: str | None
    failure: str | None
    change: str  # NEW, CHANGED, UNCHANGED or FAILED
    file_written: bool = False  # the bytes on disk differed (or were missing) and were written


class TextFiler:
    """Files extractions inside the caller's transaction; the caller commits."""

    def __init__(self, text_dir: Path) -> None:
        self.text_dir = text_dir

    @staticmethod
    def name_texts(session: Session, urls: Iterable[str]) -> dict[str, str]:
        """The text file name of each article URL, its `articles` row committed now: call it
        before the transaction holds anything else, since it commits."""
        wanted = set(urls)
        if not wanted:
            return {}
        names = repository.article_text_paths(session, wanted)
        session.commit()
        return names

    def file(self, session: Session, extracted: Sequence[Extracted],
             names: dict[str, str]) -> list[Filed]:
        """Text files first, then their `documents` rows; failures as `extraction_failures`.
        `names` holds the name of every text's URL (from `name_texts`)."""
        texts = [e for e in extracted if e.failure is None]
        newest = repository.latest_text_sha1(session, (e.url for e in texts))
        known = repository.failure_keys(session, (e.capture_id for e in extracted
                                                  if e.failure is not None))
        documents: list[NewDocument] = []
        failures: list[NewFailure] = []
        filed = []
        now = utc_now()
        for one in extracted:
            if one.failure is not None:
                filed.append(self._failure(one, known, failures, now))
            else:
                filed.append(self._text(one, names[one.url], newest, documents, now))
        repository.insert_documents(session, documents)
        repository.insert_failures(session, failures)
        return filed

    def _text(self, one: Extracted, name: str, newest: dict[str, str],
              documents: list[NewDocument], now: datetime) -> Filed:
        assert one.text is not None and one.title is not None
        sha1 = text_sha1_of(one.text)
        written = self._write(name, one.text)
        before = newest.get(one.url)
        if before == sha1:
            return Filed(name, None, UNCHANGED, written)
        newest[one.url] = sha1  # the same URL again in this call: now unchanged
        documents.append(NewDocument(
            url=one.url, title=one.title, text_path=name, text_sha1=sha1,
            extractor_version=one.extractor_version, extracted_at=now,
            capture_id=one.capture_id, **(one.fields or {"published_at": None}),
        ))
        return Filed(name, None, NEW if before is None else CHANGED, written)

    def _write(self, name: str, text: str) -> bool:
        """Write the file unless it holds these bytes already; whether it was written."""
        data = text.encode("utf-8")
        try:
            if (self.text_dir / name).read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        write_text_file(self.text_dir, name, text)
        return True

    @staticmethod
    def _failure(one: Extracted, known: set[tuple[int, str, str]], failures: list[NewFailure],
                 now: datetime) -> Filed:
        assert one.failure is not None
        key = (one.capture_id, one.failure, one.extractor_version)
        if key not in known:
            known.add(key)
            failures.append(NewFailure(
                url=one.url, reason=one.failure, detail=one.detail,
                extractor_version=one.extractor_version, failed_at=now, capture_id=one.capture_id,
            ))
        return Filed(None, one.failure, FAILED)


def writable_folder(path: Path) -> Path:
    """`path`, made if missing, once a file could be made in it: raises OSError up front, not
    after the first batch of texts was extracted."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as error:  # name the folder, not the probe
        raise OSError(error.errno, error.strerror, str(path)) from error
    return path
