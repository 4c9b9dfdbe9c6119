"""One run per site at a time, on one machine or many sharing a catalogue.

The lock is a catalogue row with a heartbeat. A holder is stale when it ran on this host
and its process is gone, or when its heartbeat stopped (another host, or a hung run);
a stale lock is reported and taken over, so a crashed run never blocks the site forever.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from crawler.exitcodes import ExitCode, Unusable
from storage.catalogue import locks
from storage.catalogue.locks import LockHolder

logger = logging.getLogger(__name__)


class SiteLocked(Unusable):
    """Another run of the same site is in progress (exit status 3: try again later)."""

    def __init__(self, message: str):
        super().__init__(message + ": nothing was fetched; try again once it has finished",
                         ExitCode.LOCKED)


def pid_alive(pid: int, since: datetime | None = None) -> bool:
    """Whether the process `pid` that was running at `since` still runs: a zombie (dead,
    not yet reaped) is dead, and so is a process that started after `since` (the pid was
    given again to another process). Where /proc cannot tell, any process with that pid
    counts as alive: a live run must never be taken for dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        pass
    try:
        state, started = _proc_state(pid)
    except (OSError, ValueError, IndexError):
        return True
    if state in "ZX":
        return False
    return since is None or started <= since + PID_CLOCK_SLACK


# A start time from /proc is boot time plus ticks, read with today's wall clock: a clock
# stepped forward since the lock was taken would make a live holder look newer than its
# lock. Within this slack a reused pid is not noticed, and the lock is taken over only
# once its heartbeat stops (RUN_LOCK_STALE_AFTER), as for a holder on another host.
PID_CLOCK_SLACK = timedelta(minutes=5)


def _proc_state(pid: int) -> tuple[str, datetime]:
    """(state letter, start time) of a process, from Linux's /proc."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read().decode("ascii", "replace")
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (command name)"
    state, start_ticks = fields[0], int(fields[19])
    with open("/proc/stat", "rb") as handle:
        boot = next(int(line.split()[1]) for line in handle if line.startswith(b"btime "))
    started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
    return state, datetime.fromtimestamp(started, UTC)


class RunLock:
    def __init__(self, sessions: sessionmaker[Session], site: str, run_id: int,
                 stale_after: timedelta):
        self.sessions = sessions
        self.site = site
        self.run_id = run_id
        self.stale_after = stale_after
        self.hostname = socket.gethostname()
        self.taken_over: LockHolder | None = None

    def acquire(self) -> None:
        """Take the lock, or raise SiteLocked saying who holds it."""
        now = datetime.now(UTC)
        with self.sessions.begin() as session:
            if locks.take_lock(session, self.site, self.run_id, self.hostname, os.getpid(), now):
                return
            holder = locks.lock_holder(session, self.site)
            if holder is None:  # released between the two statements: try once more
                if locks.take_lock(session, self.site, self.run_id, self.hostname,
                                        os.getpid(), now):
                    return
                raise SiteLocked(f"could not take the lock of site {self.site!r}; try again")
            alive = holder.hostname != self.hostname or pid_alive(holder.pid, holder.acquired_at)
            if not locks.is_stale(holder, self.hostname, alive, now, self.stale_after):
                since = f"{holder.acquired_at:%Y-%m-%d %H:%M:%S}"
                raise SiteLocked(
                    f"site {self.site!r} is being crawled by run {holder.run_id} "
                    f"(host {holder.hostname}, pid {holder.pid}, since {since} UTC, last "
                    f"heartbeat {holder.heartbeat_at:%H:%M:%S} UTC); two runs of one site "
                    f"never overlap"
                )
            if not locks.take_lock(session, self.site, self.run_id, self.hostname,
                                        os.getpid(), now, replace=holder):
                raise SiteLocked(f"another run took the stale lock of site {self.site!r} first")
        self.taken_over = holder
        logger.warning(
            "Took over the stale lock of site %r from run %d (host %s, pid %d, last heartbeat "
            "%s UTC): that run died without releasing it", self.site, holder.run_id,
            holder.hostname, holder.pid, f"{holder.heartbeat_at:%Y-%m-%d %H:%M:%S}")

    def beat(self) -> bool:
        """Renew the lock; False if another run took it over (this one must stop)."""
        with self.sessions.begin() as session:
            return locks.beat(session, self.site, self.run_id, datetime.now(UTC))

    def release(self) -> None:
        with self.sessions.begin() as session:
            locks.release_lock(session, self.site, self.run_id)
