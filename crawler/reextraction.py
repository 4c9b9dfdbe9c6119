"""Run the current extractor over archived captures, in parallel, and file what it makes.

Why this shape: extraction is CPU-bound (lxml + trafilatura), so it runs in a pool of
worker processes, one per core by default; each task is a run of captures from one WARC
file in offset order, so every worker reads its file forward and the page cache helps.
The workers also read and decode the records (gzip, chunked, brotli), which keeps the
parent process free to file results: text files and catalogue rows, in batches, as the
crawl does. The parent is the only writer of the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.extract import EXTRACTOR_VERSION, extract_article, too_large
from crawler.progress import Progress
from crawler.refiling import Filer, Outcome
from crawler.reselect import WorkItem
from crawler.workers import CRASHED, WorkerPool
from storage.decoding import TooLarge
from storage.reader import read_capture
from storage.warc import WarcReadError

if TYPE_CHECKING:
    from crawler.profiles import ExtractHints

__all__ = ["Extractor", "chunks", "reextract"]

CHUNK = 32  # captures per task: small enough to balance two workers on a few hundred pages
IN_FLIGHT_PER_WORKER = 3

_worker: Extractor | None = None


class Extractor:
    """Reads and extracts captures; lives in each worker process (set up once per worker)."""

    def __init__(self, hints: dict[str | None, ExtractHints], max_bytes: int, warc_dir: Path) -> None:
        self.hints = hints
        self.max_bytes = max_bytes
        self.warc_dir = warc_dir

    def run(self, items: list[WorkItem]) -> list[Outcome]:
        return [self.one(item) for item in items]

    def one(self, item: WorkItem) -> Outcome:
        if not item.warc_file:
            return Outcome(item, EXTRACTOR_VERSION, failure="unresolved_revisit",
                           detail="the revisit's original record is not in the catalogue: import it")
        try:
            record = read_capture(self.warc_dir, item.warc_file, item.offset, item.length,
                                  decode_limit=self.max_bytes)
        except WarcReadError as error:
            return Outcome(item, EXTRACTOR_VERSION, failure="read_error", detail=str(error))
        except TooLarge as error:  # the record itself inflates past the cap: never read whole
            return Outcome(item, EXTRACTOR_VERSION, failure="too_large",
                           detail=f"{error}, over EXTRACT_MAX_BYTES={error.limit}")
        content_type = item.content_type
        if content_type is None and record.http_headers is not None:
            content_type = record.http_headers.get_header("Content-Type")
        try:
            if isinstance(record.decode_error, TooLarge):
                extraction = too_large(record.decode_error)
            else:
                extraction = extract_article(record.decoded_payload, content_type=content_type,
                                             hints=self.hints[item.site], max_bytes=self.max_bytes)
        except Exception as error:  # a bug or a pathological page must not stop the run
            return Outcome(item, EXTRACTOR_VERSION, failure="error", detail=repr(error))
        if extraction.failure is not None or extraction.article is None:
            failure = extraction.failure
            return Outcome(item, extraction.version, failure=failure.reason if failure else "error",
                           detail=failure.detail if failure else "no article and no failure")
        article = extraction.article
        return Outcome(item, extraction.version, title=article.title, text=article.text,
                       fields=article.document_fields(item.fetched_at))


def _init_worker(extractor: Extractor) -> None:
    global _worker
    _worker = extractor


def _run_in_worker(items: list[WorkItem]) -> list[Outcome]:
    assert _worker is not None
    return _worker.run(items)


def chunks(items: Iterable[WorkItem], size: int = CHUNK) -> Iterator[list[WorkItem]]:
    """Tasks: captures of one WARC file, in offset order, at most `size` per task."""
    ordered = sorted(items, key=lambda item: (item.warc_file, item.offset))
    for _, same_file in groupby(ordered, key=lambda item: item.warc_file):
        group = list(same_file)
        for start in range(0, len(group), size):
            yield group[start:start + size]


def _crashed(item: WorkItem, detail: str) -> Outcome:
    return Outcome(item, EXTRACTOR_VERSION, failure=CRASHED, detail=detail)


def reextract(items: list[WorkItem], extractor: Extractor, filer: Filer, workers: int,
              progress: Progress) -> int:
    """Extract every item and file the outcomes; `workers` 1 runs in this process.

    Returns how many times a dead worker's pool was replaced."""
    tasks = chunks(items)
    restarts = 0
    try:
        if workers <= 1:
            for task in tasks:
                filer.add(extractor.run(task))
                progress.advance(len(task))
        else:
            restarts = _run_pool(tasks, extractor, filer, workers, progress)
        filer.flush()
    finally:
        progress.close()
    return restarts


def _run_pool(tasks: Iterator[list[WorkItem]], extractor: Extractor, filer: Filer, workers: int,
              progress: Progress) -> int:
    # Workers fork from a server that has imported lxml and trafilatura once.
    pool = WorkerPool(_run_in_worker, _crashed, workers, initializer=_init_worker,
                      initargs=(extractor,), preload=["crawler.extract", "storage.reader"])
    try:
        running: set[Future[list[Outcome]]] = set()
        for task in tasks:
            running.add(pool.submit(task))
            if len(running) >= workers * IN_FLIGHT_PER_WORKER:
                running = _collect(running, filer, progress)
        while running:
            running = _collect(running, filer, progress)
    finally:
        pool.shutdown()
    return pool.restarts


def _collect(running: set[Future[list[Outcome]]], filer: Filer,
             progress: Progress) -> set[Future[list[Outcome]]]:
    done, still = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        outcomes = future.result()
        filer.add(outcomes)
        progress.advance(len(outcomes))
    return still
