"""`scrapy reextract` shared by several processes (FRONTIER_URL): one job, tasks under leases.

Why this shape: every process runs the same command on the same selection; the first to
arrive stores the work as tasks in Redis (storage.redisqueue.leases), the others join. A
task is one group of `crawler.reextract.run.groups` (a run of captures of one WARC file
and its neighbours, exactly one filing batch of a single-process run), so a process
extracts it with its own worker pool, files it in one transaction and only then
acknowledges it; a process killed before that loses its leases after REDIS_TASK_LEASE
seconds and another does the group again (filing is idempotent).

The result is the single process's, byte for byte: text file names are `articles.id - 1`,
given to new URLs batch by batch, so groups take their names in index order (the turn in
Redis), as one process would; only the naming waits, not the extraction. A process waiting
for its turn does the earlier tasks itself when they come back from a dead process, so a
job never waits on a task nobody will take.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from crawler.reextract.run import Extractor, Filer, groups, make_pool
from crawler.reextract.select import WorkItem
from storage.redisqueue.leases import POLL, Leased, LeaseRenewer, SharedTasks

if TYPE_CHECKING:
    from crawler.extraction.workers import WorkerPool
    from crawler.reextract.progress import Progress
    from storage.catalogue.filing import Extracted

__all__ = ["decode_group", "encode_group", "reextract_shared"]

logger = logging.getLogger(__name__)


def encode_group(group: list[list[WorkItem]]) -> bytes:
    rows = [[[i.capture_id, i.url, i.fetched_at.isoformat(), i.site, i.content_type, i.warc_file,
              i.offset, i.length] for i in task] for task in group]
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def decode_group(payload: bytes) -> list[list[WorkItem]]:
    rows = json.loads(zlib.decompress(payload))
    return [[WorkItem(row[0], row[1], datetime.fromisoformat(row[2]), *row[3:]) for row in task]
            for task in rows]


class _Turn:
    """The naming turn of one group (crawler.reextract.run.Naming): wait for the groups before
    it, doing any that come back from a dead process meanwhile."""

    def __init__(self, worker: _SharedWorker, index: int) -> None:
        self.worker, self.index = worker, index

    def before(self) -> None:
        tasks = self.worker.tasks
        while tasks.state().turn < self.index:
            earlier = tasks.lease(below=self.index)
            if earlier is not None:
                self.worker.do(earlier)
            else:
                time.sleep(POLL)

    def after(self) -> None:
        self.worker.tasks.advance_turn(self.index)


class _SharedWorker:
    def __init__(self, tasks: SharedTasks, extractor: Extractor, filer: Filer, pool: WorkerPool | None,
                 progress: Progress, renewer: LeaseRenewer) -> None:
        self.tasks, self.extractor, self.filer, self.pool = tasks, extractor, filer, pool
        self.progress, self.renewer = progress, renewer
        self.done_tasks = 0

    def work(self) -> None:
        """Lease, do, acknowledge, until every task of the job is acknowledged (by anyone)."""
        while True:
            leased = self.tasks.lease()
            if leased is not None:
                self.do(leased)
            elif self.tasks.state().finished:
                return
            else:  # the rest is leased by others: wait for their acks, or for a lease to lapse
                time.sleep(POLL)

    def do(self, leased: Leased) -> None:
        self.renewer.hold(leased.index)
        try:
            outcomes = self._extract(decode_group(leased.payload))
            self.filer.file_batch(outcomes, _Turn(self, leased.index))
            self.tasks.ack(leased.index)
        finally:
            self.renewer.release(leased.index)
        self.done_tasks += 1
        self.progress.advance(len(outcomes))

    def _extract(self, group: list[list[WorkItem]]) -> list[Extracted]:
        if self.pool is None:
            return [outcome for task in group for outcome in self.extractor.run(task)]
        futures = [self.pool.submit(task) for task in group]
        return [outcome for future in futures for outcome in future.result()]


def reextract_shared(items: list[WorkItem], extractor: Extractor, filer: Filer, workers: int,
                     progress: Progress, timeout: float, tasks: SharedTasks) -> tuple[Counter[str], int]:
    """This process's share of the job: join it (filling it with `items`' groups if first),
    then work until the whole job is acknowledged. Returns the pool's events and the number
    of tasks this process filed."""
    batch = filer.batch

    def payloads() -> Iterator[bytes]:
        return (encode_group(group) for group in groups(items, batch))

    if tasks.join(payloads):
        logger.info("filled the shared job %s", tasks.prefix)
    pool = make_pool(extractor, workers, timeout) if workers > 1 or timeout else None
    renewer = LeaseRenewer(tasks, tasks.lease_ms / 3000)
    worker = _SharedWorker(tasks, extractor, filer, pool, progress, renewer)
    try:
        worker.work()
    finally:
        renewer.close()
        if pool is not None:
            pool.shutdown()
        progress.close()
    if renewer.lost:
        logger.warning("leases lost to other processes (their tasks were done twice, idempotently): %s",
                       sorted(renewer.lost))
    return (pool.counts if pool is not None else Counter()), worker.done_tasks
