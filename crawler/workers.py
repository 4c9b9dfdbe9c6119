"""A pool of extraction worker processes that outlives workers dying, and dies with its parent.

Why this module exists: one worker killed (the OOM killer, a segfault in lxml) breaks a
whole ProcessPoolExecutor, failing every batch it held; and a crawl killed with SIGKILL
used to leave its workers running for ever. The crawl (`ExtractPipeline`) and
`scrapy reextract` share this one policy:

* the broken pool is replaced (counted by `on_restart`: stat `extract/worker_restarts`);
* every item of every batch the broken pool held is retried once, alone, in a one-worker
  quarantine pool, one item at a time, so the item that kills a worker again is known for
  sure: its result is `crashed(item, detail)` (reason `worker_crashed`); the others get
  their results as if nothing had happened;
* workers exit when the process that made the pool dies: `PR_SET_PDEATHSIG` on Linux (their
  parent is the forkserver, which exits with that process), and everywhere a pipe from
  that process whose end of file a thread in each worker waits for.

Workers start from a forkserver: never fork a process that runs the reactor's threads.
All pool bookkeeping happens on one supervisor thread, so callers (the reactor included)
only ever hand work over and never block.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

__all__ = ["CRASHED", "WorkerPool"]

logger = logging.getLogger(__name__)

CRASHED = "worker_crashed"
"""The failure reason of an item that killed its worker twice."""
_PR_SET_PDEATHSIG = 1

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Batch(Generic[T, R]):
    items: list[T]
    done: Future[list[R]]
    results: list[R | None] = field(default_factory=list)
    missing: int = 0


class WorkerPool(Generic[T, R]):
    """Runs `run(batch)` (one result per item, in order) in `workers` processes.

    Args:
        run: a module-level function, run in a worker.
        crashed: the result of an item that killed its worker twice (run here).
        workers: processes in the pool.
        initializer, initargs: run once in each worker (picklable).
        preload: modules the forkserver imports once, so workers start warm.
        on_restart: called (on the supervisor thread) each time a dead worker's pool is replaced.
    """

    def __init__(self, run: Callable[[list[T]], list[R]], crashed: Callable[[T, str], R],
                 workers: int, *, initializer: Callable[..., None], initargs: tuple[Any, ...] = (),
                 preload: Sequence[str] = (), on_restart: Callable[[], None] = lambda: None) -> None:
        self._run, self._crashed, self._workers = run, crashed, workers
        self._context = multiprocessing.get_context("forkserver")
        if preload:
            self._context.set_forkserver_preload(list(preload))
        self._parent_alive, self._parent_alive_writer = self._context.Pipe(duplex=False)
        self._initargs = (self._parent_alive, initializer, initargs)
        self._on_restart = on_restart
        self.restarts = 0
        self._pool: ProcessPoolExecutor | None = None
        self._quarantine: ProcessPoolExecutor | None = None
        self._suspects: deque[tuple[_Batch[T, R], int]] = deque()
        self._suspect_running = False
        self._events: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._supervisor = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._supervisor.start()

    def submit(self, items: list[T]) -> Future[list[R]]:
        """A future of the batch's results; never fails for a dead worker."""
        batch: _Batch[T, R] = _Batch(items, Future())
        self._events.put(lambda: self._start(batch))
        return batch.done

    def shutdown(self) -> None:
        """Wait for the work handed over, then stop the workers."""
        self._events.put(None)
        self._supervisor.join()
        self._parent_alive_writer.close()
        self._parent_alive.close()

    # ---- on the supervisor thread --------------------------------------------------------

    def _supervise(self) -> None:
        while (event := self._events.get()) is not None:
            event()
        for pool in (self._pool, self._quarantine):
            if pool is not None:
                pool.shutdown(wait=True)
        for batch, _ in self._suspects:  # only if shut down with work in hand
            _settle(batch.done, error=RuntimeError("the worker pool was shut down"))

    def _post(self, handler: Callable[..., None], *args: Any) -> Callable[[Future[Any]], None]:
        return lambda future: self._events.put(lambda: handler(future, *args))

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=self._context, initializer=_start_worker,
                                   initargs=self._initargs)

    def _start(self, batch: _Batch[T, R]) -> None:
        if self._pool is None:
            self._pool = self._new_pool(self._workers)
        pool = self._pool
        try:
            future = pool.submit(self._run, batch.items)
        except BrokenProcessPool:  # broken before its futures told us
            self._replace_main(pool)
            self._suspect(batch)
            return
        future.add_done_callback(self._post(self._batch_done, batch, pool))

    def _batch_done(self, future: Future[list[R]], batch: _Batch[T, R],
                    pool: ProcessPoolExecutor) -> None:
        try:
            results = future.result()
        except BrokenProcessPool:
            self._replace_main(pool)
            self._suspect(batch)
        except BaseException as error:  # noqa: BLE001 - the caller's error, handed back to it
            _settle(batch.done, error=error)
        else:
            _settle(batch.done, results)

    def _replace_main(self, pool: ProcessPoolExecutor) -> None:
        if pool is self._pool:  # the first of its batches to fail replaces it
            self._pool = None
            self._restarted(pool, "a worker died; its batches are retried one item at a time")

    def _restarted(self, pool: ProcessPoolExecutor, why: str) -> None:
        pool.shutdown(wait=False, cancel_futures=True)
        self.restarts += 1
        self._on_restart()
        logger.warning("Extraction worker pool replaced: %s", why)

    def _suspect(self, batch: _Batch[T, R]) -> None:
        batch.results, batch.missing = [None] * len(batch.items), len(batch.items)
        self._suspects.extend((batch, index) for index in range(len(batch.items)))
        self._next_suspect()

    def _next_suspect(self) -> None:
        if self._suspect_running or not self._suspects:
            return
        batch, index = self._suspects.popleft()
        if self._quarantine is None:
            self._quarantine = self._new_pool(1)
        pool = self._quarantine
        self._suspect_running = True
        future = pool.submit(self._run, [batch.items[index]])
        future.add_done_callback(self._post(self._suspect_done, batch, index, pool))

    def _suspect_done(self, future: Future[list[R]], batch: _Batch[T, R], index: int,
                      pool: ProcessPoolExecutor) -> None:
        self._suspect_running = False
        try:
            batch.results[index] = future.result()[0]
        except BrokenProcessPool:
            self._quarantine = None
            self._restarted(pool, "a worker died again on the same item: recorded as " + CRASHED)
            batch.results[index] = self._crashed(
                batch.items[index], "an extraction worker died on it twice (killed, out of "
                                    "memory, or a crash in native code)")
        except BaseException as error:  # noqa: BLE001 - the caller's error, handed back to it
            _settle(batch.done, error=error)
        batch.missing -= 1
        if batch.missing == 0:
            _settle(batch.done, batch.results)  # type: ignore[arg-type]
        self._next_suspect()


def _settle(future: Future[Any], result: Any = None, error: BaseException | None = None) -> None:
    """Resolve a future unless it already is (failed, or cancelled by its caller)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


# ---- in each worker ----------------------------------------------------------------------


def _start_worker(parent_alive: Connection, initializer: Callable[..., None],
                  initargs: tuple[Any, ...]) -> None:
    _exit_with_parent(parent_alive)
    initializer(*initargs)


def _exit_with_parent(parent_alive: Connection) -> None:
    """Exit when the pool's owner dies, however it dies (SIGKILL included)."""
    if sys.platform.startswith("linux"):  # immediate, even if this process is stuck in C code
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        try:
            parent_alive.recv()  # nothing is ever sent: this returns when the owner is gone
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
