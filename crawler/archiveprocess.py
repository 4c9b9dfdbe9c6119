"""The crawl's archive in a process of its own, fed through a pipe.

Why: gzip of WARC records, catalogue batches and text files cost the crawl process as much
CPU as Scrapy itself, and a thread shares the reactor's one GIL. In a process of its own the
same `crawler.archive.Archive` (its writer thread, its batches, its order rules) runs on the
other core, and the crawl process only pickles what it hands over: exchanges are byte
strings already.

`ArchiveProcess` is what the crawl holds instead of the Archive: the same queued writes in
the same order, each a Future resolved once the archive process has committed it (or has
failed it). The process starts with the crawl (a fresh interpreter running this module):
it imports while the crawl opens the catalogue (and migrates it), is told what to archive
once that is done, and the crawl waits for it once, while starting up. Its log records are
sent back and logged by the crawl, where the crawl logs.

Crash rules are the Archive's, unchanged:
* the archive process dies with the crawl (SIGKILL included): on Linux the kernel kills it
  when the crawl dies, elsewhere it reads end of file from the crawl's pipe. It never
  outlives the run whose lock covers its files, so start-up repair never meets a live
  writer; its files carry the crawl's pid, as if the crawl wrote them;
* it ignores SIGINT and SIGTERM, which a terminal or a service manager sends the whole
  process group: the crawl shuts down cleanly and closes the archive last;
* a crawl that stops without closing it (killed) leaves the `.open` file to the next run's
  repair, exactly as a thread would.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from functools import partial
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from crawler.archive import (
    Archive,
    ArchiveConfig,
    ArchiveUnavailable,
    Backlog,
    Settling,
    done_once_archived,
    exchange_size,
)
from crawler.captures import UNKNOWN, CaptureWriter
from crawler.collector import freeze_for_exit, freeze_start_up
from crawler.extraction.workers import killed_with_parent

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from crawler.captures import Archived
    from crawler.challenges import Blocking
    from crawler.extraction.article import Extraction
    from storage.catalogue.filing import Filed
    from storage.catalogue.frontier import CaptureState, Discovered, FetchFailure
    from storage.warc.exchange import HttpExchange

__all__ = ["ArchiveProcess"]

logger = logging.getLogger(__name__)

_LOG = -1  # the call id of a log record sent back by the archive process
_READY = -2  # the call id of the answer saying the archive process can write
_FORWARDED = frozenset({"site", "run_id", "blocking"})
READY_TIMEOUT = 120.0  # seconds for the archive process to import and open the catalogue
EXIT_WAIT = 30.0  # seconds for it to exit once its end of the pipe is closed


class ArchiveProcess(Settling):
    """The crawl's handle on its archive process: `crawler.archive.Archive`'s queued writes."""

    def __init__(self, config: ArchiveConfig):
        self.config = config
        process, conn = _spawn()  # it imports while this process opens the catalogue
        try:
            # the crawl's own (run lock, reader, pipeline), brought to the newest migration
            # before the archive process, told of it below, opens the catalogue too
            self.sessions = config.sessions()
        except BaseException:
            conn.close()  # it exits at end of file, before opening anything
            process.wait(EXIT_WAIT)
            raise
        self.backlog = Backlog(config.backlog_limit)
        self.captures = CaptureWriter(None)  # start-up repair's inserts, before any write
        self._calls: dict[int, Future[Any]] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()  # guards _calls and _failure
        self._failure: BaseException | None = None
        self._ready = threading.Event()
        self._closing: Future[None] | None = None
        self._outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # what the archive writes for, sent in order with the writes (see __setattr__)
        self.site = ""
        self.run_id: int | None = None
        self.blocking: Blocking | None = None
        self._start(process, conn)

    def __setattr__(self, name: str, value: Any) -> None:
        """The run, site and challenge markers reach the archive process before any write
        made after they are set."""
        object.__setattr__(self, name, value)
        if name in _FORWARDED:
            self._outbox.put((None, "configure", (name, value)))

    def ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until the archive process can write (its catalogue opened): called once, while
        the crawl starts, so that no page waits for it. Raises what made it fail."""
        if not self._ready.wait(timeout):
            self._fail(ArchiveUnavailable(f"the archive process did not start in {timeout:.0f} s"))
        if self._failure is not None:
            raise self._failure

    @property
    def directory(self) -> Path:
        return self.config.warc_dir

    # ---- the Archive's queued writes -----------------------------------------------------

    def archive_exchange(
        self, exchange: HttpExchange, record_id: str, source_lastmod: datetime | None,
        kind: str | None = None, previous: CaptureState | None = UNKNOWN,
    ) -> Future[Archived]:
        future = self._submit("archive_exchange", exchange, record_id, source_lastmod, kind,
                              previous)
        self.backlog.holding(exchange_size(exchange), future)
        if done_once_archived(exchange.status, kind):
            self.settle_when(future, exchange.url)
        return future

    def remember(self, found: list[Discovered]) -> Future[None]:
        return self._submit("remember", found)

    def relist(self, listed: list[tuple[str, datetime | None]], sitemap_url: str) -> Future[None]:
        return self._submit("relist", listed, sitemap_url)

    def mark_done(self, url: str) -> Future[None]:
        return self.settle_when(self._submit("mark_done", url), url)

    def failed(self, failure: FetchFailure) -> Future[None]:
        return self.settle_when(self._submit("failed", failure), failure.url)

    def file_extraction(self, url: str, record_id: str, fetched_at: datetime,
                        extraction: Extraction) -> Future[Filed]:
        return self._submit("file_extraction", url, record_id, fetched_at, extraction)

    def close(self) -> Future[None]:
        """Commit every queued write and close the WARC file; the process then exits. Later
        calls get the same answer; writes after it fail at once."""
        if self._closing is None:
            self._closing = self._submit("close")
            self._outbox.put(None)  # nothing follows: the sender ends
        return self._closing

    # ---- the pipe --------------------------------------------------------------------------

    def _submit(self, method: str, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            failure = self._failure or (ArchiveUnavailable("the archive is closed")
                                        if self._closing is not None else None)
            if failure is not None:
                future.set_exception(failure)
                return future
            call_id = next(self._ids)
            self._calls[call_id] = future
        self._outbox.put((call_id, method, args))
        return future

    def _start(self, process: subprocess.Popen[bytes], ours: Connection) -> None:
        """Hand the archive process its configuration, then its writes, in order."""
        self._process = process
        try:
            ours.send((self.config, logging.getLogger().getEffectiveLevel(), os.getpid()))
        except OSError as error:  # it died before it was told anything (its stderr says why)
            ours.close()
            raise ArchiveUnavailable(f"the archive process ended as it started (exit status "
                                     f"{_ended(process)}): {error}") from error
        threading.Thread(target=self._send, args=(ours,), name="archive-sender",
                         daemon=True).start()
        threading.Thread(target=self._receive, args=(ours, process), name="archive-receiver",
                         daemon=True).start()

    def _send(self, conn: Connection) -> None:
        """Hand the writes over, as many at once as are waiting: one pickle and one system
        call for a batch, not for each write. Whatever ends this thread ends the archive:
        nothing waits for ever on a write never sent."""
        try:
            for messages in batches(self._outbox):
                try:
                    conn.send(messages)
                except (pickle.PicklingError, TypeError, AttributeError):
                    self._send_one_by_one(conn, messages)
        except Exception as error:  # the process is gone (OSError), or worse
            self._fail(ArchiveUnavailable(f"the archive process cannot be reached: {error}"))
            self._process.kill()  # it would wait for writes that never come

    def _send_one_by_one(self, conn: Connection, messages: list[Any]) -> None:
        """A batch that would not pickle: the write at fault fails alone."""
        for message in messages:
            try:
                payload = pickle.dumps([message])
            except Exception as error:
                call_id = message[0]
                with self._lock:
                    future = self._calls.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_exception(TypeError(f"cannot hand {message[1]} over: {error}"))
                continue
            conn.send_bytes(payload)

    def _receive(self, conn: Connection, process: subprocess.Popen[bytes]) -> None:
        try:
            self._receive_answers(conn)
        finally:  # the process is ending (or this thread failed): every write waiting fails
            code = _ended(process)
            self._fail(ArchiveUnavailable(f"the archive process ended (exit status {code})"))
            if code:
                logger.error("The archive process ended with exit status %s", code)

    def _receive_answers(self, conn: Connection) -> None:
        while True:
            try:
                answers = conn.recv()
            except (EOFError, OSError):
                return
            for call_id, error, result in answers:
                if call_id == _LOG:
                    logging.getLogger(result.name).handle(result)
                elif call_id == _READY:
                    self._ready.set()
                else:
                    self._resolve(call_id, error, result)

    def _resolve(self, call_id: int, error: BaseException | None, result: Any) -> None:
        with self._lock:
            future = self._calls.pop(call_id, None)
        if future is None or future.done():  # failed already, or given up by its caller
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def _fail(self, error: BaseException) -> None:
        """No further write can be made: every one waiting fails with `error`."""
        with self._lock:
            self._failure = self._failure or error
            waiting, self._calls = self._calls, {}
        self._ready.set()
        for future in waiting.values():
            if not future.done():
                future.set_exception(error)


# ---- in the archive process -------------------------------------------------------------


def serve(conn: Connection, config: ArchiveConfig, log_level: int, crawl_pid: int) -> None:
    """The archive process: run each write the crawl sends on one Archive, answer each once
    it is committed, and exit once it is closed (or at once when the crawl is gone)."""
    _die_with(crawl_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the crawl decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    answers: queue.SimpleQueue[Any] = queue.SimpleQueue()  # one thread sends them all, batched
    answering = threading.Thread(target=_answer, args=(conn, answers), name="answers")
    answering.start()
    _send_logs(answers, log_level)
    try:
        archive = Archive.from_config(config, upgraded=True)
    except Exception:
        logging.getLogger(__name__).exception("The archive process could not start")
        answers.put(None)
        answering.join()
        raise SystemExit(1) from None
    freeze_start_up()  # as the crawl process does (crawler.collector)
    answers.put((_READY, None, None))

    def answer(call_id: int, future: Future[Any]) -> None:
        error = future.exception()
        answers.put((call_id, _picklable(error), None if error else future.result()))

    while True:
        try:
            calls = conn.recv()
        except (EOFError, OSError):  # the crawl died: stop as it did, leaving the file .open
            os._exit(1)
        for call_id, method, args in calls:
            if method == "configure":
                setattr(archive, *args)
                continue
            future = getattr(archive, method)(*args)
            future.add_done_callback(partial(answer, call_id))
            if method == "close":  # every write before it is committed, the file closed
                answered = threading.Event()  # set after `answer`: callbacks run in order
                future.add_done_callback(lambda _, answered=answered: answered.set())
                answered.wait()
                answers.put(None)
                answering.join()
                conn.close()
                freeze_for_exit()  # no collection at exit
                return


def batches(waiting: queue.SimpleQueue[Any]) -> Iterator[list[Any]]:
    """What is waiting, in order, as one list: blocks for the first item; ends at None."""
    while True:
        batch, item = [], waiting.get()
        while item is not None:
            batch.append(item)
            try:
                item = waiting.get_nowait()
            except queue.Empty:
                break
        if batch:
            yield batch
        if item is None:
            return


def _spawn() -> tuple[subprocess.Popen[bytes], Connection]:
    """A fresh interpreter running this module (never a fork of a process running the
    reactor's threads, nor multiprocessing's spawn, which imports the crawl's own main
    module, Scrapy's command line, first), given one end of a socket pair; it waits for its
    configuration on it."""
    ours, theirs = multiprocessing.Pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.archiveprocess", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C is the crawl's to handle, not its
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})
    theirs.close()
    return process, ours


def _ended(process: subprocess.Popen[bytes]) -> int:
    """The exit status of an archive process whose pipe is closed: it is on its way out."""
    try:
        return process.wait(timeout=EXIT_WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _answer(conn: Connection, answers: queue.SimpleQueue[Any]) -> None:
    for batch in batches(answers):
        try:
            conn.send(batch)
        except (OSError, ValueError):
            return  # the crawl is gone
        except Exception:  # a result or a record that would not pickle: it alone is lost
            for call_id, error, result in batch:
                try:
                    conn.send([(call_id, error, result)])
                except (OSError, ValueError):
                    return
                except Exception as failure:
                    if call_id != _LOG:
                        conn.send([(call_id, RuntimeError(f"answer not sent: {failure}"), None)])


def _die_with(crawl_pid: int) -> None:
    """Be killed by the kernel the moment the crawl dies (Linux), even while stuck in C code;
    elsewhere, end of file on the crawl's pipe ends this process."""
    killed_with_parent()
    if os.getppid() != crawl_pid:  # it died before the line above
        os._exit(1)


def _send_logs(answers: queue.SimpleQueue[Any], level: int) -> None:
    """Log records go back to the crawl with the answers, to be logged where it logs."""

    class ToTheCrawl(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:  # tracebacks do not pickle: their text does
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            record.msg, record.args = record.getMessage(), None
            answers.put((_LOG, None, record))

    root = logging.getLogger()
    root.handlers = [ToTheCrawl()]
    root.setLevel(level)


def _picklable(error: BaseException | None) -> BaseException | None:
    """The error itself if it crosses the pipe, else its type and message (a database
    driver's error may hold what does not pickle)."""
    if error is None:
        return None
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def main(fd: int) -> None:
    conn = Connection(fd)
    try:
        config, log_level, crawl_pid = conn.recv()
    except EOFError:  # the crawl could not open the catalogue: it says why, nothing to do
        return
    serve(conn, config, log_level, crawl_pid)


if __name__ == "__main__":
    main(int(sys.argv[1]))
