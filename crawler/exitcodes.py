"""Exit statuses of every command, and one clear line for the conditions a user can fix.

Why: cron, systemd and `scrapy schedule` only see the exit status, so it must tell the
truth; and a condition the user expects and can fix (the site is locked by another run,
the database does not answer, the data folder is read-only) deserves one line saying
what to do, not a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum
from typing import TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from storage.sorting import SortSpaceError

T = TypeVar("T")


class ExitCode(IntEnum):
    OK = 0  # the work finished; per-URL or per-record failures are counted and listed
    FAILED = 1  # the work could not be done (archive or catalogue unusable, records unreadable)
    USAGE = 2  # bad arguments (Scrapy's own code)
    LOCKED = 3  # another run holds the site: nothing was fetched
    BLOCKED = 4  # the site answers with a bot challenge instead of pages: stopped early
    PIPE_CLOSED = 141  # the reader of stdout went away (`| head`): as a tool SIGPIPE stops


class Unusable(RuntimeError):
    """An expected condition that stops the work before it starts; str() says what to do."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED):
        super().__init__(message)
        self.code = code


def catalogue_problem(error: BaseException, url: str) -> Unusable:
    """One line for a catalogue that cannot be opened or written (refused, read-only, ...)."""
    detail = getattr(error, "orig", None) or error
    text = " ".join(str(detail).split())[:300]
    where = without_credentials(url)
    return Unusable(f"the catalogue {where} cannot be used ({text}): check DATABASE_URL, that the "
                    "database server answers, and that DATA_DIR is writable")


@contextmanager
def one_line_errors(command: str) -> Iterator[None]:
    """Turn Unusable (and catalogue errors) into one line on stderr and the exit status."""
    try:
        yield
    except Unusable as error:
        print(f"scrapy {command}: {error}", file=sys.stderr)
        raise SystemExit(int(error.code)) from None
    except SortSpaceError as error:
        print(f"scrapy {command}: {error}", file=sys.stderr)
        raise SystemExit(int(ExitCode.FAILED)) from None


def without_credentials(url: str) -> str:
    """A database URL fit to print: no user nor password, wherever they were given (before the
    host, or as `user` / `password` query parameters); one SQLAlchemy cannot read is printed as
    its scheme only."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url.partition("://")[0] + "://..." if "://" in url else "..."
    query = {name: value for name, value in parsed.query.items()
             if name.lower() not in ("user", "password")}
    if parsed.username is None and parsed.password is None and len(query) == len(parsed.query):
        return url  # nothing to hide: printed as given
    # set() takes None as "unchanged": the tuple's own _replace clears them
    return parsed._replace(username=None, password=None).set(query=query).render_as_string(
        hide_password=False)


def opened(open_it: Callable[[], T], url: str) -> T:
    """`open_it()`, with a catalogue or folder failure turned into Unusable."""
    try:
        return open_it()
    except SQLAlchemyError as error:
        raise catalogue_problem(error, url) from error
    except OSError as error:
        where = error.filename or f"a folder of {without_credentials(url)}"
        raise Unusable(f"{where}: {error.strerror or error}: set DATA_DIR (or the "
                       "setting naming this folder) to a writable folder") from error


@contextmanager
def output_errors(name: str) -> Iterator[None]:
    """Writing a command's output: an output that cannot be written is one line naming it
    (not the catalogue, not DATA_DIR); a reader that went away (`| head`) is not an error of
    ours: stop quietly, with the status a shell shows for a tool SIGPIPE stopped."""
    try:
        yield
    except BrokenPipeError:
        stop_quietly()
    except OSError as error:
        raise Unusable(f"{name} cannot be written ({error.strerror or error}); "
                       "choose a writable place") from error


def stop_quietly() -> None:
    """Exit with PIPE_CLOSED; stdout points at /dev/null first, so that the interpreter's
    last flush of what is still buffered for the closed pipe prints no error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(int(ExitCode.PIPE_CLOSED))
