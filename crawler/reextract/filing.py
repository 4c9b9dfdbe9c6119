"""File re-extracted texts: the text file (same stable name, atomic replace) and a new
`documents` row only where the text changed; failures as `extraction_failures`.

Why this module exists: re-extraction must leave the catalogue as a crawl would have, with
the crawl's own pieces (`article_text_paths`, `write_text_file`, `insert_documents`), and
must be cheap to repeat: an unchanged text adds no row, and a file already holding the
right bytes is not rewritten. A file that is missing (a deleted `text/`) is written again
even when the catalogue already has its text: that is how `text/` is restored.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from crawler.reextract.select import WorkItem
from storage.catalogue import repository
from storage.catalogue.repository import NewDocument, NewFailure
from storage.dates import utc_now
from storage.textfiles import text_sha1_of, write_text_file

__all__ = ["Filer", "Outcome", "Tally", "writable_folder"]

BATCH = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker made of one capture: a text (with its document columns) or a failure."""

    item: WorkItem
    version: str
    title: str | None = None
    text: str | None = None
    fields: dict[str, Any] | None = None
    """`documents` columns read from the page (published_at, ...), as of the capture."""
    failure: str | None = None
    detail: str = ""


@dataclass
class Tally:
    unchanged: int = 0
    changed: int = 0
    new: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    files_written: int = 0

    @property
    def done(self) -> int:
        return self.unchanged + self.changed + self.new + sum(self.failed.values())


class Filer:
    def __init__(self, sessions: sessionmaker[Session], text_dir: Path, batch: int = BATCH) -> None:
        self.sessions = sessions
        self.text_dir = text_dir
        self.batch = batch
        self.tally = Tally()
        self._pending: list[Outcome] = []

    def add(self, outcomes: list[Outcome]) -> None:
        self._pending.extend(outcomes)
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        with self.sessions.begin() as session:
            self._file_texts(session, [o for o in pending if o.text is not None])
            self._file_failures(session, [o for o in pending if o.text is None])

    def _file_texts(self, session: Session, outcomes: list[Outcome]) -> None:
        urls = [o.item.url for o in outcomes]
        paths = repository.article_text_paths(session, urls)
        before = repository.latest_text_sha1(session, urls)
        documents = []
        now = utc_now()
        for outcome in outcomes:
            assert outcome.text is not None and outcome.title is not None
            url, sha1 = outcome.item.url, text_sha1_of(outcome.text)
            self._write(paths[url], outcome.text)
            if before.get(url) == sha1:
                self.tally.unchanged += 1
                continue
            if url in before:
                self.tally.changed += 1
            else:
                self.tally.new += 1
            documents.append(_document(outcome, paths[url], sha1, now))
        repository.insert_documents(session, documents)

    def _write(self, name: str, text: str) -> None:
        path = self.text_dir / name
        data = text.encode("utf-8")
        try:
            if path.read_bytes() == data:
                return
        except FileNotFoundError:
            pass
        write_text_file(self.text_dir, name, text)
        self.tally.files_written += 1

    def _file_failures(self, session: Session, outcomes: list[Outcome]) -> None:
        known = repository.failure_keys(session, (o.item.capture_id for o in outcomes))
        now = utc_now()
        failures = []
        for outcome in outcomes:
            assert outcome.failure is not None
            self.tally.failed[outcome.failure] += 1
            key = (outcome.item.capture_id, outcome.failure, outcome.version)
            if key in known:
                continue
            known.add(key)
            failures.append(NewFailure(
                url=outcome.item.url, reason=outcome.failure, detail=outcome.detail,
                extractor_version=outcome.version, failed_at=now, capture_id=outcome.item.capture_id,
            ))
        repository.insert_failures(session, failures)


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


def _document(outcome: Outcome, path: str, sha1: str, now: datetime) -> NewDocument:
    assert outcome.title is not None
    return NewDocument(
        url=outcome.item.url, title=outcome.title, text_path=path, text_sha1=sha1,
        extractor_version=outcome.version, extracted_at=now, capture_id=outcome.item.capture_id,
        **(outcome.fields or {"published_at": None}),
    )
