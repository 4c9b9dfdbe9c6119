"""Run the current extractor over archived captures, in parallel, and file what it makes.

Why this shape: extraction is CPU-bound (lxml + trafilatura), so it runs in a pool of
worker processes, one per core by default; each task is a run of captures from one WARC
file in offset order, so every worker reads its file forward and the page cache helps.
The workers also read and decode the records (gzip, chunked, brotli), which keeps the
parent process free to file results: text files and catalogue rows, in batches, through
the crawl's own filer (storage.catalogue.filing), so the catalogue ends as a crawl would
have left it and a rerun is cheap (an unchanged text adds no row and rewrites no file).
The parent is the only writer of the catalogue. With a timeout, even one worker is
a process of the pool: only a process can be killed when a page hangs it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.article import EXTRACTOR_MODULES, EXTRACTOR_VERSION, extract_safely, too_large
from crawler.extraction.filed import extracted_of
from crawler.extraction.workers import WorkerPool
from crawler.reextract.progress import Progress
from crawler.reextract.select import WorkItem
from storage.catalogue.filing import CHANGED, FAILED, NEW, UNCHANGED, Extracted, Filed, TextFiler
from storage.warc.decoding import TooLarge
from storage.warc.exchange import WarcReadError
from storage.warc.reader import read_capture

if TYPE_CHECKING:
    from crawler.profiles import ExtractHints

__all__ = ["Extractor", "Filer", "Tally", "chunks", "groups", "reextract"]

CHUNK = 32  # captures per task: small enough to balance two workers on a few hundred pages
IN_FLIGHT_PER_WORKER = 3
BATCH = 200  # outcomes filed per transaction

_worker: Extractor | None = None


class Extractor:
    """Reads and extracts captures; lives in each worker process (set up once per worker)."""

    def __init__(self, hints: dict[str | None, ExtractHints], max_bytes: int, warc_dir: Path) -> None:
        self.hints = hints
        self.max_bytes = max_bytes
        self.warc_dir = warc_dir

    def run(self, items: list[WorkItem]) -> list[Extracted]:
        return [self.one(item) for item in items]

    def one(self, item: WorkItem) -> Extracted:
        if not item.warc_file:
            return _failed(item, "unresolved_revisit",
                           "the revisit's original record is not in the catalogue: import it")
        try:
            record = read_capture(self.warc_dir, item.warc_file, item.offset, item.length,
                                  decode_limit=self.max_bytes)
        except WarcReadError as error:
            return _failed(item, "read_error", str(error))
        except TooLarge as error:  # the record itself inflates past the cap: never read whole
            return _failed(item, "too_large", f"{error}, over EXTRACT_MAX_BYTES={error.limit}")
        content_type = item.content_type
        if content_type is None and record.http_headers is not None:
            content_type = record.http_headers.get_header("Content-Type")
        if isinstance(record.decode_error, TooLarge):
            extraction = too_large(record.decode_error)
        else:
            extraction = extract_safely(record.decoded_payload, content_type=content_type,
                                        hints=self.hints[item.site], max_bytes=self.max_bytes, url=item.url)
        return extracted_of(item.url, item.capture_id, item.fetched_at, extraction)


@dataclass
class Tally:
    """What the filing of a run's outcomes did, for the report."""

    unchanged: int = 0
    changed: int = 0
    new: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    files_written: int = 0

    @property
    def done(self) -> int:
        return self.unchanged + self.changed + self.new + sum(self.failed.values())

    def count(self, filed: Filed) -> None:
        if filed.change == FAILED:
            assert filed.failure is not None
            self.failed[filed.failure] += 1
        elif filed.change == UNCHANGED:
            self.unchanged += 1
        elif filed.change == CHANGED:
            self.changed += 1
        elif filed.change == NEW:
            self.new += 1
        self.files_written += filed.file_written


class Filer:
    """Files outcomes in batches, each in a transaction of its own, and tallies them."""

    def __init__(self, sessions: sessionmaker[Session], text_dir: Path, batch: int = BATCH) -> None:
        self.sessions = sessions
        self.filer = TextFiler(text_dir)
        self.batch = batch
        self.tally = Tally()
        self._pending: list[Extracted] = []

    def add(self, outcomes: list[Extracted]) -> None:
        self._pending.extend(outcomes)
        if len(self._pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self.file_batch(pending)

    def file_batch(self, outcomes: list[Extracted], naming: Naming | None = None) -> None:
        """One batch in its own transactions: new URLs' names (committed first), then texts
        and rows. `naming` brackets the naming step when several processes share a run:
        names are `articles.id - 1`, so batches must take them in one order everywhere."""
        with self.sessions() as session:
            if naming is not None:
                naming.before()
            names = self.filer.name_texts(session, (o.url for o in outcomes if o.failure is None))
            if naming is not None:
                naming.after()
            for filed in self.filer.file(session, outcomes, names):
                self.tally.count(filed)
            session.commit()


class Naming(Protocol):
    def before(self) -> None:
        """Wait until every earlier batch has its names."""

    def after(self) -> None:
        """This batch has its names (committed): let the next one take its own."""


def _init_worker(extractor: Extractor) -> None:
    global _worker
    _worker = extractor


def _run_in_worker(item: WorkItem) -> Extracted:
    assert _worker is not None
    return _worker.one(item)


def chunks(items: Iterable[WorkItem], size: int = CHUNK) -> Iterator[list[WorkItem]]:
    """Tasks: captures of one WARC file, in offset order, at most `size` per task."""
    ordered = sorted(items, key=lambda item: (item.warc_file, item.offset))
    for _, same_file in groupby(ordered, key=lambda item: item.warc_file):
        group = list(same_file)
        for start in range(0, len(group), size):
            yield group[start:start + size]


def groups(items: Iterable[WorkItem], batch: int = BATCH,
           size: int = CHUNK) -> Iterator[list[list[WorkItem]]]:
    """The tasks (`chunks`) cut where the filer flushes: consecutive tasks until `batch`
    outcomes are pending. One group is one transaction of filing, and the unit a
    distributed run leases; cutting both the same way gives both the same file names."""
    group: list[list[WorkItem]] = []
    pending = 0
    for task in chunks(items, size):
        group.append(task)
        pending += len(task)
        if pending >= batch:
            yield group
            group, pending = [], 0
    if group:
        yield group


def _failed(item: WorkItem, reason: str, detail: str) -> Extracted:
    return Extracted(item.url, item.capture_id, EXTRACTOR_VERSION, failure=reason, detail=detail)


def reextract(items: list[WorkItem], extractor: Extractor, filer: Filer, workers: int,
              progress: Progress, timeout: float) -> Counter[str]:
    """Extract every item and file the outcomes; `workers` 1 without a `timeout` (0) runs in
    this process.

    Returns the pool's events: broken pools replaced (RESTARTS), workers killed (TIMEOUTS)."""
    tasks = chunks(items)
    events: Counter[str] = Counter()
    try:
        if workers <= 1 and not timeout:
            for task in tasks:
                filer.add(extractor.run(task))
                progress.advance(len(task))
        else:
            events = _run_pool(tasks, extractor, filer, workers, progress, timeout)
        filer.flush()
    finally:
        progress.close()
    return events


def _run_pool(tasks: Iterator[list[WorkItem]], extractor: Extractor, filer: Filer, workers: int,
              progress: Progress, timeout: float) -> Counter[str]:
    pool = make_pool(extractor, workers, timeout)
    try:
        in_order = _InOrder(filer, progress)
        for task in tasks:
            in_order.submit(pool.submit(task))
            while in_order.waiting >= workers * IN_FLIGHT_PER_WORKER:
                in_order.collect()
        while in_order.waiting:
            in_order.collect()
    finally:
        pool.shutdown()  # kills the workers: never waits on a hung one
    return pool.counts


def make_pool(extractor: Extractor, workers: int, timeout: float) -> WorkerPool:
    # Workers fork from a server that has imported lxml and trafilatura once.
    return WorkerPool(_run_in_worker, _failed, workers, timeout=timeout, initializer=_init_worker,
                      initargs=(extractor,), preload=[*EXTRACTOR_MODULES, "storage.warc.reader"])


class _InOrder:
    """Outcomes go to the filer in task order, whichever worker finishes first: the filer's
    batches, and so the names new URLs get (`articles.id`), do not depend on timing."""

    def __init__(self, filer: Filer, progress: Progress) -> None:
        self.filer, self.progress = filer, progress
        self.futures: list[Future[list[Extracted]]] = []  # submitted, not yet filed, in order

    @property
    def waiting(self) -> int:
        return len(self.futures)

    def submit(self, future: Future[list[Extracted]]) -> None:
        self.futures.append(future)

    def collect(self) -> None:
        """Wait for the oldest task, then file it and every finished one after it."""
        wait([self.futures[0]], return_when=FIRST_COMPLETED)
        while self.futures and self.futures[0].done():
            outcomes = self.futures.pop(0).result()
            self.filer.add(outcomes)
            self.progress.advance(len(outcomes))
