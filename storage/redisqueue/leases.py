"""A job's tasks shared by several processes through Redis, each task under a lease.

Why our own (about 100 lines of Lua) rather than RQ, Celery or Dramatiq: the processes of a
job are the user's commands themselves (`scrapy reextract` started on N machines), so the
job needs what those libraries leave to their users: the first process to arrive fills the
task list once and the others join it; every process knows when the whole job is
acknowledged, and exits then; a dead process's tasks come back after a lease the job sets
(seconds in tests), by whoever asks next, not by a broker's maintenance on its own
schedule; and tasks can take turns by index (`advance_turn`: text file names are given in
task order). README ("Distributed re-extraction and import") says what each library lacked.

One job is a set of keys under `vnarchive:tasks:<kind>:<fingerprint>:<run>`: `state` (a
hash: status filling/ready/finished, total, acked, turn), `filling` (the filler's lock,
with a deadline), `payload` (index -> bytes), `ready` (a sorted set by index: the lowest is
leased first), `leased` (index -> deadline, ms of the Redis server's clock, so machines'
clocks never matter), `holder` (index -> worker) and `acked` (a set: an index counts once).
Every step is one Lua script, so two processes never see half a step. A finished job's
keys expire after `FINISHED_TTL`; the next command with the same fingerprint starts a new
run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import redis

from storage.redisqueue.connection import LUA_NOW_MS, holder_name, key

__all__ = ["FINISHED_TTL", "JobState", "LeaseRenewer", "Leased", "SharedTasks"]

FINISHED_TTL = 3600  # seconds a finished job's keys stay readable (late joiners see it is done)
PUSH_BATCH = 200
POLL = 0.05  # seconds between looks at the job while waiting for others

_OPEN = """
local run = redis.call('GET', KEYS[1])
if run then
  local rp = ARGV[1] .. ':' .. run
  local status = redis.call('HGET', rp .. ':state', 'status')
  if status == 'ready' or (status == 'filling' and redis.call('EXISTS', rp .. ':filling') == 1) then
    return {run, 0}
  end
end
run = tostring(redis.call('INCR', KEYS[2]))
redis.call('PERSIST', KEYS[2])
local rp = ARGV[1] .. ':' .. run
redis.call('SET', KEYS[1], run)
redis.call('HSET', rp .. ':state', 'status', 'filling')
redis.call('SET', rp .. ':filling', ARGV[2], 'PX', ARGV[3])
return {run, 1}
"""

_PUSH = """
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[2], ARGV[i], ARGV[i])
end
return 1
"""

_READY = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'ready', 'total', ARGV[2], 'acked', 0, 'turn', 0)
redis.call('DEL', KEYS[2])
return 1
"""

_LEASE = LUA_NOW_MS + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, index in ipairs(expired) do
  redis.call('ZREM', KEYS[2], index)
  redis.call('HDEL', KEYS[3], index)
  redis.call('ZADD', KEYS[1], index, index)
end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if #head == 0 or tonumber(head[1]) >= tonumber(ARGV[3]) then return {#expired} end
redis.call('ZREM', KEYS[1], head[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), head[1])
redis.call('HSET', KEYS[3], head[1], ARGV[1])
return {#expired, head[1], redis.call('HGET', KEYS[4], head[1])}
"""

_RENEW = LUA_NOW_MS + """
local lost = {}
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""

_ACK = """
if redis.call('EXISTS', KEYS[5]) == 0 then return {0, 0} end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('SADD', KEYS[4], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[5], 'acked', 1)
  redis.call('HDEL', KEYS[6], ARGV[1])
end
local acked = tonumber(redis.call('HGET', KEYS[5], 'acked'))
local total = tonumber(redis.call('HGET', KEYS[5], 'total'))
if acked >= total then
  redis.call('HSET', KEYS[5], 'status', 'finished')
  for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
end
return {acked, total}
"""

_ADVANCE_TURN = """
if tonumber(redis.call('HGET', KEYS[1], 'turn')) == tonumber(ARGV[1]) then
  redis.call('HINCRBY', KEYS[1], 'turn', 1)
end
return tonumber(redis.call('HGET', KEYS[1], 'turn'))
"""


@dataclass(frozen=True, slots=True)
class Leased:
    index: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class JobState:
    status: str  # filling, ready, finished; "" when the keys are gone (expired: finished)
    total: int
    acked: int
    turn: int
    """Tasks below this index have taken their turn (advance_turn)."""

    @property
    def finished(self) -> bool:
        return self.status in ("finished", "")


class SharedTasks:
    """One job's tasks, as one process sees them: join (or fill), lease, renew, ack."""

    def __init__(self, client: redis.StrictRedis, kind: str, fingerprint: str, lease_seconds: float,
                 worker: str | None = None) -> None:
        if lease_seconds <= 0:
            raise ValueError("the lease must be positive")
        self.client = client
        self.base = key("tasks", kind, fingerprint)
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.worker = worker or holder_name()
        self.run: str | None = None
        self._scripts = {name: client.register_script(text) for name, text in (
            ("open", _OPEN), ("push", _PUSH), ("ready", _READY), ("lease", _LEASE),
            ("renew", _RENEW), ("ack", _ACK), ("turn", _ADVANCE_TURN))}

    @property
    def prefix(self) -> str:
        """The keys of the run joined: `vnarchive:tasks:<kind>:<fingerprint>:<run>`."""
        return f"{self.base}:{self.run}"

    def _k(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def join(self, tasks: Callable[[], Iterable[bytes]]) -> bool:
        """Join the job, filling it with `tasks()` if this process is the first (or the one
        that filled it died before it was ready). Returns whether this process filled it."""
        while True:
            run, created = self._scripts["open"](
                keys=[f"{self.base}:current", f"{self.base}:runs"],
                args=[self.base, self.worker, self.lease_ms])
            self.run = run.decode() if isinstance(run, bytes) else str(run)
            if created:
                self._fill(tasks())
                return True
            if self._wait_until_filled():
                return False

    def _fill(self, payloads: Iterable[bytes]) -> None:
        total = 0
        items = iter(payloads)
        while batch := list(islice(items, PUSH_BATCH)):
            args: list[object] = [self.worker, self.lease_ms]
            for payload in batch:
                args += [total, payload]
                total += 1
            if not self._scripts["push"](keys=[self._k("payload"), self._k("ready"), self._k("filling")],
                                         args=args):
                raise RuntimeError("lost the right to fill the task list (took longer than the lease)")
        if not self._scripts["ready"](keys=[self._k("state"), self._k("filling")], args=[self.worker, total]):
            raise RuntimeError("lost the right to fill the task list (took longer than the lease)")
        if total == 0:
            self.client.hset(self._k("state"), "status", "finished")
            for name in ("state", "filling"):
                self.client.expire(self._k(name), FINISHED_TTL)

    def _wait_until_filled(self) -> bool:
        """True once the job is ready (or finished); False if its filler died meanwhile."""
        while True:
            state = self.state()
            if state.status in ("ready", "finished"):
                return True
            if not self.client.exists(self._k("filling")):
                return False
            time.sleep(POLL)

    def lease(self, below: int | None = None) -> Leased | None:
        """The lowest task not taken (expired leases first go back), held for the lease;
        only one whose index is below `below`, if given. None if there is none now."""
        limit = below if below is not None else 1 << 62
        answer = self._scripts["lease"](
            keys=[self._k("ready"), self._k("leased"), self._k("holder"), self._k("payload")],
            args=[self.worker, self.lease_ms, limit])
        if len(answer) < 3:
            return None
        return Leased(int(answer[1]), answer[2] or b"")

    def renew(self, indices: Iterable[int]) -> list[int]:
        """Push the deadlines of these leases on; returns those no longer ours (expired and
        taken by another process: the work is filed idempotently, so doing it again is safe)."""
        wanted = list(indices)
        if not wanted:
            return []
        lost = self._scripts["renew"](keys=[self._k("leased"), self._k("holder")],
                                      args=[self.worker, self.lease_ms, *wanted])
        return [int(index) for index in lost]

    def ack(self, index: int) -> tuple[int, int]:
        """The task's work is filed (committed): it is never handed out again. Returns
        (acknowledged, total)."""
        acked, total = self._scripts["ack"](
            keys=[self._k("leased"), self._k("holder"), self._k("ready"), self._k("acked"),
                  self._k("state"), self._k("payload"), f"{self.base}:current", f"{self.base}:runs"],
            args=[index, FINISHED_TTL])
        return int(acked), int(total)

    def advance_turn(self, index: int) -> int:
        """Task `index` took its turn: the next may take its own. Returns the turn now."""
        return int(self._scripts["turn"](keys=[self._k("state")], args=[index]))

    def state(self) -> JobState:
        status, total, acked, turn = self.client.hmget(self._k("state"), "status", "total", "acked", "turn")
        return JobState((status or b"").decode(), int(total or 0), int(acked or 0), int(turn or 0))

    def keys(self) -> Iterator[str]:
        """Every key of this fingerprint, all runs (tests delete them)."""
        for name in self.client.scan_iter(match=f"{self.base}:*", count=500):
            yield name.decode() if isinstance(name, bytes) else name


class LeaseRenewer:
    """A thread renewing this process's leases every third of the lease, so a task may take
    longer than the lease while its process lives; a dead process renews nothing."""

    def __init__(self, tasks: SharedTasks, every: float) -> None:
        self.tasks = tasks
        self.every = every
        self._held: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.lost: set[int] = set()
        self._thread = threading.Thread(target=self._run, name="lease-renewer", daemon=True)
        self._thread.start()

    def hold(self, index: int) -> None:
        with self._lock:
            self._held.add(index)

    def release(self, index: int) -> None:
        with self._lock:
            self._held.discard(index)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                held = list(self._held)
            try:
                self.lost.update(self.tasks.renew(held))
            except redis.RedisError:  # the next round tries again; the lease may lapse meanwhile
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
