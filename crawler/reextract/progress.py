"""Progress of a long command: a live bar on a terminal, plain periodic lines otherwise.

Why both: a person at a terminal wants the rate and the time left at a glance (rich's
bar); a cron job, CI or `nohup` log wants a line now and then that still reads well in a
file, with no control characters.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Protocol

__all__ = ["LineProgress", "Progress", "make_progress"]

LINE_EVERY = 5.0  # seconds between plain progress lines


class Progress(Protocol):
    def advance(self, count: int) -> None: ...

    def close(self) -> None: ...


def make_progress(total: int, what: str, stream: IO[str] | None = None) -> Progress:
    stream = stream or sys.stderr
    if stream.isatty():
        return _BarProgress(total, what)
    return LineProgress(total, what, stream)


class _BarProgress:
    def __init__(self, total: int, what: str) -> None:
        from rich.console import Console  # imported here: only a terminal needs rich
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), transient=False,
            console=Console(stderr=True),  # stdout keeps only the report, for scripts
        )
        self._task = self._bar.add_task(what, total=total, rate="")
        self._started = time.monotonic()
        self._done = 0
        self._bar.start()

    def advance(self, count: int) -> None:
        self._done += count
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._bar.update(self._task, advance=count, rate=f"{self._done / elapsed:,.1f} pages/s")

    def close(self) -> None:
        self._bar.stop()


class LineProgress:
    """`what: 1,200/5,000 (24%), 310.2 pages/s, ETA 12 s` every few seconds, and at the end."""

    def __init__(self, total: int, what: str, stream: IO[str], every: float = LINE_EVERY) -> None:
        self.total, self.what, self.stream, self.every = total, what, stream, every
        self.done = 0
        self._started = self._last = time.monotonic()

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._line(now)

    def close(self) -> None:
        self._line(time.monotonic())

    def _line(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate else 0.0
        share = 100 * self.done / self.total if self.total else 100.0
        print(f"{self.what}: {self.done:,}/{self.total:,} ({share:.0f}%), {rate:,.1f} pages/s, "
              f"ETA {left:,.0f} s", file=self.stream, flush=True)
