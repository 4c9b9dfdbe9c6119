"""A pool of extraction worker processes that outlives workers dying or hanging, and dies with
its parent.

Why this module exists: one worker killed (the OOM killer, a segfault in lxml) breaks a
whole ProcessPoolExecutor, failing every batch it held; one worker that never returns (lxml
looping on a pathological page, a site profile's regex backtracking) left its page's future
unresolved for ever; and a crawl killed with SIGKILL used to leave its workers running for
ever. The crawl (`ExtractPipeline`) and `scrapy reextract` share this one policy:

* a worker still on one item after `timeout` seconds is killed (SIGKILL), which breaks its pool
  like any dead worker (counted by `on_event(TIMEOUTS)`: stat `extract/timeouts`);
* the broken pool is replaced (`on_event(RESTARTS)`: stat `extract/worker_restarts`);
* every item of every batch the broken pool held is retried once, alone, in a one-worker
  quarantine pool, one item at a time, so the item that kills or hangs a worker again is
  known for sure: its result is `failed(item, CRASHED or TIMEOUT, detail)`; the others get
  their results as if nothing had happened;
* workers exit when the process that made the pool dies: `PR_SET_PDEATHSIG` on Linux (their
  parent is the forkserver, which exits with that process), and everywhere a pipe from
  that process whose end of file a thread in each worker waits for.

Workers start from a forkserver: never fork a process that runs the reactor's threads.
All pool bookkeeping happens on one supervisor thread, so callers (the reactor included)
only ever hand work over and never block. Each worker writes, in shared memory, when it
began its current item: the supervisor needs no answer from a worker that hangs.
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
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Generic, TypeVar

__all__ = ["CRASHED", "DEFAULT_TIMEOUT", "RESTARTS", "TIMEOUT", "TIMEOUTS", "WorkerPool",
           "killed_with_parent"]

logger = logging.getLogger(__name__)

CRASHED = "worker_crashed"
"""The failure reason of an item that killed its worker twice."""
TIMEOUT = "timeout"
"""The failure reason of an item still running after the timeout, twice."""
DEFAULT_TIMEOUT = 60.0
"""Seconds per item (the EXTRACT_TIMEOUT setting's default); 0 = none."""
RESTARTS, TIMEOUTS = "worker_restarts", "timeouts"
"""The events `on_event` counts: a broken pool replaced, a worker killed for its deadline."""
_PR_SET_PDEATHSIG = 1
_IDLE = 0.0

T = TypeVar("T")
R = TypeVar("R")


@dataclass(eq=False)
class _Batch(Generic[T, R]):
    items: list[T]
    done: Future[list[R]]
    results: list[R | None] = field(default_factory=list)
    missing: int = 0


class _Clocks:
    """When each worker of one pool began its current item (`_IDLE`: none), and its pid.

    Shared memory, written by the workers and read by the supervisor: a hung worker is
    found without asking it anything."""

    def __init__(self, context: BaseContext, workers: int) -> None:
        self._pids = context.RawArray("q", workers)
        self._started = context.RawArray("d", workers)
        self._claimed = context.Value("i", 0)

    def claim(self) -> int:
        """In a worker, once: its slot, with its pid written in."""
        with self._claimed.get_lock():
            slot = self._claimed.value
            self._claimed.value += 1
        self._pids[slot] = os.getpid()
        return slot

    def start(self, slot: int, started: float) -> None:
        self._started[slot] = started

    def overdue(self, started_before: float) -> list[int]:
        """The pids of workers on one item since before `started_before`; each is told once."""
        pids = []
        for slot, started in enumerate(self._started):
            if _IDLE < started < started_before and self._pids[slot]:
                self._started[slot] = _IDLE
                pids.append(self._pids[slot])
        return pids

    def pids(self) -> list[int]:
        return [pid for pid in self._pids if pid]


@dataclass(eq=False)
class _Workers:
    """One process pool, the clocks its workers keep, and whether one was killed for its deadline."""

    executor: ProcessPoolExecutor
    clocks: _Clocks
    timed_out: bool = False


class WorkerPool(Generic[T, R]):
    """Runs `run(item)` for each item of a batch, in `workers` processes.

    Args:
        run: a module-level function, run in a worker.
        failed: the result of an item that killed its worker twice (reason CRASHED) or passed
            its deadline twice (TIMEOUT), with a detail that says so (run here).
        workers: processes in the pool.
        timeout: seconds one item may run before its worker is killed; 0 = no limit.
        initializer, initargs: run once in each worker (picklable).
        preload: modules the forkserver imports once, so workers start warm.
        on_event: called (on the supervisor thread) with RESTARTS each time a broken pool is
            replaced, with TIMEOUTS each time a worker is killed for its deadline.
    """

    def __init__(self, run: Callable[[T], R], failed: Callable[[T, str, str], R], workers: int, *,
                 timeout: float = DEFAULT_TIMEOUT, initializer: Callable[..., None],
                 initargs: tuple[Any, ...] = (), preload: Sequence[str] = (),
                 on_event: Callable[[str], None] = lambda _event: None) -> None:
        self._run, self._failed, self._workers = run, failed, workers
        self._timeout = max(timeout, 0.0)
        # how often the supervisor looks at the clocks when no event wakes it
        self._check_every = min(max(self._timeout / 8, 0.05), 1.0) if self._timeout else None
        self._context = multiprocessing.get_context("forkserver")
        if preload:
            self._context.set_forkserver_preload(list(preload))
        self._parent_alive, self._parent_alive_writer = self._context.Pipe(duplex=False)
        self._worker_setup = (initializer, initargs)
        self._on_event = on_event
        self.counts: Counter[str] = Counter()
        self._pool: _Workers | None = None
        self._quarantine: _Workers | None = None
        self._in_hand: set[_Batch[T, R]] = set()
        self._suspects: deque[tuple[_Batch[T, R], int]] = deque()
        self._suspect_running = False
        self._events: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._supervisor = threading.Thread(target=self._supervise, name="worker-pool", daemon=True)
        self._supervisor.start()

    def submit(self, items: list[T]) -> Future[list[R]]:
        """A future of the batch's results; never fails for a dead or hung worker."""
        batch: _Batch[T, R] = _Batch(items, Future())
        self._events.put(lambda: self._start(batch))
        return batch.done

    def shutdown(self) -> None:
        """Stop at once, waiting on no worker (one may hang): the workers are killed and work
        still in hand fails. Callers collect their results first."""
        self._events.put(None)
        self._supervisor.join()
        self._parent_alive_writer.close()
        self._parent_alive.close()

    # ---- on the supervisor thread --------------------------------------------------------

    def _supervise(self) -> None:
        while True:
            try:
                event = self._events.get(timeout=self._check_every)
            except queue.Empty:
                event = _no_event
            if event is None:
                break
            event()
            self._kill_overdue()
        self._stop()

    def _stop(self) -> None:
        for workers in self._live_pools():
            for pid in workers.clocks.pids():
                _kill(pid)
            workers.executor.shutdown(wait=False, cancel_futures=True)
        for batch in list(self._in_hand):  # only if shut down with work in hand
            self._finish(batch, error=RuntimeError("the worker pool was shut down"))

    def _kill_overdue(self) -> None:
        if not self._timeout:
            return
        started_before = time.monotonic() - self._timeout
        for workers in self._live_pools():
            for pid in workers.clocks.overdue(started_before):
                workers.timed_out = True
                _kill(pid)  # its pool breaks: the futures tell the rest
                self._count(TIMEOUTS)
                logger.warning("Extraction worker %d killed: one item ran past EXTRACT_TIMEOUT "
                               "(%g s)", pid, self._timeout)

    def _live_pools(self) -> list[_Workers]:
        return [pool for pool in (self._pool, self._quarantine) if pool is not None]

    def _count(self, event: str) -> None:
        self.counts[event] += 1
        self._on_event(event)

    def _post(self, handler: Callable[..., None], *args: Any) -> Callable[[Future[Any]], None]:
        return lambda future: self._events.put(lambda: handler(future, *args))

    def _new_pool(self, workers: int) -> _Workers:
        clocks = _Clocks(self._context, workers)
        executor = ProcessPoolExecutor(workers, mp_context=self._context, initializer=_start_worker,
                                       initargs=(self._parent_alive, clocks, *self._worker_setup))
        return _Workers(executor, clocks)

    def _start(self, batch: _Batch[T, R]) -> None:
        self._in_hand.add(batch)
        if self._pool is None:
            self._pool = self._new_pool(self._workers)
        pool = self._pool
        try:
            future = pool.executor.submit(_run_timed, self._run, batch.items)
        except BrokenProcessPool:  # broken before its futures told us
            self._main_broke(pool, batch)
            return
        future.add_done_callback(self._post(self._batch_done, batch, pool))

    def _batch_done(self, future: Future[list[R]], batch: _Batch[T, R], pool: _Workers) -> None:
        try:
            results = future.result()
        except BrokenProcessPool:
            self._main_broke(pool, batch)
        except BaseException as error:  # noqa: BLE001 - the caller's error, handed back to it
            self._finish(batch, error=error)
        else:
            self._finish(batch, results)

    def _main_broke(self, pool: _Workers, batch: _Batch[T, R]) -> None:
        why = "a worker was killed for its deadline" if pool.timed_out else "a worker died"
        self._retire(pool, why + "; its batches are retried one item at a time")
        self._suspect(batch)

    def _retire(self, pool: _Workers, why: str) -> None:
        """Replace a broken pool; only the first of its batches to tell us does."""
        if pool is self._pool:
            self._pool = None
        elif pool is self._quarantine:
            self._quarantine = None
        else:
            return
        pool.executor.shutdown(wait=False, cancel_futures=True)
        self._count(RESTARTS)
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
        future = pool.executor.submit(_run_timed, self._run, [batch.items[index]])
        future.add_done_callback(self._post(self._suspect_done, batch, index, pool))

    def _suspect_done(self, future: Future[list[R]], batch: _Batch[T, R], index: int,
                      pool: _Workers) -> None:
        self._suspect_running = False
        try:
            batch.results[index] = future.result()[0]
        except BrokenProcessPool:
            reason, detail = self._blame(pool)
            self._retire(pool, f"a worker failed again on the same item: recorded as {reason}")
            batch.results[index] = self._failed(batch.items[index], reason, detail)
        except BaseException as error:  # noqa: BLE001 - the caller's error, handed back to it
            self._finish(batch, error=error)
        if pool.timed_out:  # killed as its item ended: not to be blamed on the next one
            self._retire(pool, "its worker was killed as its item ended")
        batch.missing -= 1
        if batch.missing == 0:
            self._finish(batch, batch.results)
        self._next_suspect()

    def _blame(self, pool: _Workers) -> tuple[str, str]:
        """Why the quarantine's one worker, on one item, was lost."""
        if pool.timed_out:
            return TIMEOUT, (f"still running after {self._timeout:g} s (EXTRACT_TIMEOUT) when "
                             f"retried alone: its worker was killed")
        return CRASHED, ("an extraction worker died on it twice (killed, out of memory, or a "
                         "crash in native code)")

    def _finish(self, batch: _Batch[T, R], results: Any = None,
                error: BaseException | None = None) -> None:
        """Resolve a batch's future unless it already is (failed, or cancelled by its caller)."""
        self._in_hand.discard(batch)
        if batch.done.done():
            return
        if error is not None:
            batch.done.set_exception(error)
        else:
            batch.done.set_result(results)


def _no_event() -> None:
    """What the supervisor runs when no event came in time: it only looks at the clocks."""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # gone already
        pass


# ---- in each worker ----------------------------------------------------------------------

_clock: tuple[_Clocks, int] | None = None
"""This worker's clocks and slot."""


def _start_worker(parent_alive: Connection, clocks: _Clocks, initializer: Callable[..., None],
                  initargs: tuple[Any, ...]) -> None:
    global _clock
    _exit_with_parent(parent_alive)
    _clock = (clocks, clocks.claim())
    initializer(*initargs)


def _run_timed(run: Callable[[T], R], items: list[T]) -> list[R]:
    """Run each item, telling the supervisor when each began."""
    assert _clock is not None
    clocks, slot = _clock
    results = []
    try:
        for item in items:
            clocks.start(slot, time.monotonic())
            results.append(run(item))
    finally:
        clocks.start(slot, _IDLE)
    return results


def killed_with_parent() -> None:
    """On Linux, be killed by the kernel the moment the parent process dies, even while
    stuck in C code (PR_SET_PDEATHSIG); elsewhere nothing: callers also watch a pipe."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _exit_with_parent(parent_alive: Connection) -> None:
    """Exit when the pool's owner dies, however it dies (SIGKILL included)."""
    killed_with_parent()  # the forkserver's death, which exits with the owner
    _release_the_forkserver()

    def watch() -> None:
        try:
            parent_alive.recv()  # nothing is ever sent: this returns when the owner is gone
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _release_the_forkserver() -> None:
    """Close this worker's copy of the forkserver's "alive" pipe (there for workers that fork
    their own: ours never do). The forkserver exits when every copy is closed; while a worker
    hung in C code held one, the forkserver outlived the pool's owner, and so did the worker,
    whose death signal is its parent's (the forkserver's) death."""
    server = getattr(forkserver, "_forkserver", None)
    alive = getattr(server, "_forkserver_alive_fd", None)
    if alive is not None:
        os.close(alive)
        server._forkserver_alive_fd = None  # type: ignore[union-attr]
