"""The shared frontier of a crawl job (FRONTIER_URL): one queue of requests and one seen-set in Redis, each
request handed to one worker at a time under a lease.

Why leases: a plain Redis queue (scrapy-redis's) loses a popped request for good when its
worker dies. Here a leased request stays in Redis, with a deadline, until the worker's archive
has committed its outcome (`acknowledge`); a worker renews the leases it holds while it lives,
and a lease past its deadline goes back to the queue, for any worker to take (after
`max_tries` expiries it is set aside in `dropped`, counted, never silently lost). The model is
Browsertrix-crawler's Redis state (queue, pending hash, lease deadlines, atomic Lua "get next",
requeue of expired leases).

A job is a site's crawl shared by every worker that joins while it runs; it ends when its
queue is empty, no lease is outstanding and no worker is busy (one that joined and has not
gone idle yet may still push its start requests). Every change of state is one Lua script,
so two workers never take the same request, and Redis's own clock sets every deadline (the
workers' clocks may differ).

Keys (all under `<namespace>:<site>:`, the namespace "vnarchive" unless two archives share
one Redis server): `job` (the running job's id), `jobs` (the counter), and
per job `job:<id>:` + seen (set of fingerprints), q:<priority> (lists), prios (zset of the
priorities in use), requeued (list, taken first), leases (zset fingerprint -> deadline ms),
payload and owner (hashes by fingerprint, while leased), held:<worker> (set), tries (hash),
busy (zset worker -> deadline), workers (hash worker -> joined ms), dropped (list), stats
(hash), finished. A queued entry is the request's 12-byte fingerprint followed by its
encoding (crawler.frontier.codec): nothing else is stored per queued URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from storage.redisqueue.connection import LUA_NOW_MS, RedisUnavailable, connect

DEFAULT_NAMESPACE = "vnarchive"
FINGERPRINT_BYTES = 12  # collisions: about 1 in 10^13 for a hundred million URLs
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_MAX_TRIES = 3  # expiries of one request's lease before it is set aside (dropped)
FINISHED_KEPT_SECONDS = 7 * 24 * 3600  # a finished job's stats stay readable this long


class FrontierUnavailable(RedisUnavailable):
    """Redis cannot be reached or refused a command: the worker cannot take part in the job."""


class JobOver(FrontierUnavailable):
    """The job ended (its last worker found nothing left) before this worker's push."""


def fingerprint(url: str) -> bytes:
    """A URL's identity in the job: the seen-set, leases and acknowledgements use it."""
    return hashlib.blake2b(url.encode("utf-8"), digest_size=FINGERPRINT_BYTES).digest()


# Shared by every script that may find leases past their deadline: they go back to the
# front of the queue, or are set aside once they expired max_tries times.
_NOW_AND_REQUEUE = LUA_NOW_MS + """
local p = ARGV[1]
local function give_back(fp, max_tries, counted)
  local entry = redis.call('HGET', p .. 'payload', fp)
  local owner = redis.call('HGET', p .. 'owner', fp)
  if owner then redis.call('SREM', p .. 'held:' .. owner, fp) end
  redis.call('HDEL', p .. 'owner', fp)
  redis.call('HDEL', p .. 'payload', fp)
  redis.call('ZREM', p .. 'leases', fp)
  if not entry then return end
  local tries = counted and redis.call('HINCRBY', p .. 'tries', fp, 1) or 0
  if tries >= max_tries then
    redis.call('RPUSH', p .. 'dropped', entry)
    redis.call('HINCRBY', p .. 'stats', 'dropped', 1)
  else
    redis.call('LPUSH', p .. 'requeued', entry)
    redis.call('HINCRBY', p .. 'stats', 'requeued', 1)
  end
end
local function requeue_expired(max_tries)
  for _, fp in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, 1000)) do
    give_back(fp, max_tries, true)
  end
end
"""

# KEYS: pointer, counter. ARGV: site prefix, worker, lease ms, kept seconds. A running job that
# has no busy worker and no live lease left is abandoned (every worker stopped early or died):
# its queue is dropped (each URL in it is pending in the catalogue, which the next run takes
# up) and a new job starts, so that a new run never joins a dead job's seen-set.
_JOIN = LUA_NOW_MS + """
local id = redis.call('GET', KEYS[1])
if id then  -- a job every worker left (stopped, killed) is abandoned: its queue is the catalogue's
  local old = ARGV[1] .. 'job:' .. id .. ':'
  redis.call('ZREMRANGEBYSCORE', old .. 'busy', '-inf', now)
  if redis.call('ZCARD', old .. 'busy') == 0 and redis.call('ZCOUNT', old .. 'leases', now, '+inf') == 0 then
    for _, prio in ipairs(redis.call('ZRANGE', old .. 'prios', 0, -1)) do
      redis.call('DEL', old .. 'q:' .. prio)
    end
    redis.call('DEL', old .. 'seen', old .. 'prios', old .. 'requeued', old .. 'leases', old .. 'payload',
               old .. 'owner', old .. 'tries', old .. 'busy')
    redis.call('SET', old .. 'finished', now, 'EX', tonumber(ARGV[4]))
    redis.call('HSET', old .. 'stats', 'abandoned', 1)
    id = nil
  end
end
if not id then
  id = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], id)
end
local p = ARGV[1] .. 'job:' .. id .. ':'
redis.call('ZADD', p .. 'busy', now + tonumber(ARGV[3]), ARGV[2])
redis.call('HSET', p .. 'workers', ARGV[2], now)
return id
"""

# ARGV: job prefix, then priority, entry pairs. Returns how many were new to the job (-1: the
# job is over; nothing is queued).
_PUSH = """
local p = ARGV[1]
if redis.call('EXISTS', p .. 'finished') == 1 then return -1 end
local pushed = 0
for i = 2, #ARGV, 2 do
  local prio, entry = ARGV[i], ARGV[i + 1]
  if redis.call('SADD', p .. 'seen', string.sub(entry, 1, FP_BYTES)) == 1 then
    redis.call('RPUSH', p .. 'q:' .. prio, entry)
    redis.call('ZADD', p .. 'prios', tonumber(prio), prio)
    pushed = pushed + 1
  end
end
if pushed > 0 then redis.call('HINCRBY', p .. 'stats', 'pushed', pushed) end
return pushed
""".replace("FP_BYTES", str(FINGERPRINT_BYTES))

# ARGV: job prefix, worker, n, lease ms, max tries. Returns up to n entries, now leased.
_LEASE = _NOW_AND_REQUEUE + """
local worker, n, lease = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
requeue_expired(tonumber(ARGV[5]))
local out = {}
local function take(key)
  while #out < n do
    local entry = redis.call('LPOP', key)
    if not entry then return end
    table.insert(out, entry)
  end
end
take(p .. 'requeued')
if #out < n then
  for _, prio in ipairs(redis.call('ZREVRANGE', p .. 'prios', 0, -1)) do
    take(p .. 'q:' .. prio)
    if redis.call('LLEN', p .. 'q:' .. prio) == 0 then redis.call('ZREM', p .. 'prios', prio) end
    if #out >= n then break end
  end
end
for _, entry in ipairs(out) do
  local fp = string.sub(entry, 1, FP_BYTES)
  redis.call('ZADD', p .. 'leases', now + lease, fp)
  redis.call('HSET', p .. 'payload', fp, entry)
  redis.call('HSET', p .. 'owner', fp, worker)
  redis.call('SADD', p .. 'held:' .. worker, fp)
end
if #out > 0 then
  redis.call('ZADD', p .. 'busy', now + lease, worker)
  redis.call('HINCRBY', p .. 'stats', 'leased', #out)
end
return out
""".replace("FP_BYTES", str(FINGERPRINT_BYTES))

# ARGV: job prefix, then fingerprints. Returns how many were leased (now acknowledged).
_ACK = """
local p = ARGV[1]
local acked = 0
for i = 2, #ARGV do
  local fp = ARGV[i]
  local owner = redis.call('HGET', p .. 'owner', fp)
  if owner then
    redis.call('SREM', p .. 'held:' .. owner, fp)
    redis.call('HDEL', p .. 'owner', fp)
    redis.call('HDEL', p .. 'payload', fp)
    redis.call('ZREM', p .. 'leases', fp)
    redis.call('HDEL', p .. 'tries', fp)
    acked = acked + 1
  end
end
if acked > 0 then redis.call('HINCRBY', p .. 'stats', 'acked', acked) end
return acked
"""

# ARGV: job prefix, worker, lease ms. Returns how many leases the worker holds.
_RENEW = _NOW_AND_REQUEUE + """
local worker, deadline = ARGV[2], now + tonumber(ARGV[3])
local held = redis.call('SMEMBERS', p .. 'held:' .. worker)
for _, fp in ipairs(held) do redis.call('ZADD', p .. 'leases', 'XX', deadline, fp) end
if redis.call('ZSCORE', p .. 'busy', worker) then redis.call('ZADD', p .. 'busy', deadline, worker) end
return #held
"""

# ARGV: job prefix, worker, max tries, then fingerprints never sent. The worker is idle (or
# stopping): what it still holds goes back, a try counted for each it sent (it ended without an
# outcome the archive recorded).
_IDLE = _NOW_AND_REQUEUE + """
local worker = ARGV[2]
local untouched = {}
for i = 4, #ARGV do untouched[ARGV[i]] = true end
local held = redis.call('SMEMBERS', p .. 'held:' .. worker)
for _, fp in ipairs(held) do give_back(fp, tonumber(ARGV[3]), not untouched[fp]) end
redis.call('ZREM', p .. 'busy', worker)
return #held
"""

# KEYS: pointer. ARGV: job prefix, job id, max tries, kept seconds. 1 once the job is over.
_FINISHED = _NOW_AND_REQUEUE + """
if redis.call('EXISTS', p .. 'finished') == 1 then return 1 end
requeue_expired(tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', p .. 'busy', '-inf', now)
if redis.call('ZCARD', p .. 'leases') > 0 or redis.call('ZCARD', p .. 'busy') > 0
    or redis.call('LLEN', p .. 'requeued') > 0 then return 0 end
for _, prio in ipairs(redis.call('ZRANGE', p .. 'prios', 0, -1)) do
  if redis.call('LLEN', p .. 'q:' .. prio) > 0 then return 0 end
end
if redis.call('GET', KEYS[1]) == ARGV[2] then redis.call('DEL', KEYS[1]) end
redis.call('DEL', p .. 'seen', p .. 'prios', p .. 'tries', p .. 'busy')
for _, netloc in ipairs(redis.call('SMEMBERS', p .. 'robots')) do  -- storage.redisqueue.robots
  redis.call('DEL', p .. 'robots:' .. netloc, p .. 'robots:' .. netloc .. ':claim')
end
redis.call('DEL', p .. 'robots')
local kept = tonumber(ARGV[4])
redis.call('SET', p .. 'finished', now, 'EX', kept)
for _, name in ipairs({'stats', 'dropped', 'workers'}) do redis.call('EXPIRE', p .. name, kept) end
return 1
"""


@dataclass(frozen=True, slots=True)
class JobStats:
    pushed: int
    leased: int
    acked: int
    requeued: int
    dropped: int
    queued: int
    leases: int


class SharedFrontier:
    """One site's job in Redis, as one worker sees it (thread-safe: redis-py's pool)."""

    def __init__(self, client: redis.StrictRedis, site: str, lease_seconds: float = DEFAULT_LEASE_SECONDS,
                 max_tries: int = DEFAULT_MAX_TRIES, url: str = "", namespace: str = DEFAULT_NAMESPACE):
        self.redis = client
        self.url = url  # what it was connected with
        self.site = site
        self.namespace = namespace
        self.site_prefix = f"{namespace}:{site}:"
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.max_tries = max_tries
        self.worker = ""
        self.job_id: int | None = None
        self._scripts = {name: client.register_script(source) for name, source in (
            ("join", _JOIN), ("push", _PUSH), ("lease", _LEASE), ("ack", _ACK),
            ("renew", _RENEW), ("idle", _IDLE), ("finished", _FINISHED))}

    @classmethod
    def connect(cls, url: str, site: str, **options: Any) -> SharedFrontier:
        """Refuses (FrontierUnavailable, saying why) a URL that names no reachable Redis."""
        try:
            client = connect(url)
        except RedisUnavailable as error:
            raise FrontierUnavailable(f"FRONTIER_URL cannot be used: {error}") from error
        return cls(client, site, url=url, **options)

    @property
    def prefix(self) -> str:
        if self.job_id is None:
            raise RuntimeError("join the job first")
        return f"{self.site_prefix}job:{self.job_id}:"

    def _run(self, name: str, keys: Sequence[str] = (), args: Sequence[object] = ()) -> object:
        try:
            return self._scripts[name](keys=list(keys), args=list(args))
        except redis.RedisError as error:
            raise FrontierUnavailable(f"the shared frontier failed ({name}): {error}") from error

    def join(self, worker: str) -> int:
        """Join the site's running job, or start one; the worker counts as busy until idle."""
        self.worker = worker
        job = self._run("join", [self.site_prefix + "job", self.site_prefix + "jobs"],
                        [self.site_prefix, worker, self.lease_ms, FINISHED_KEPT_SECONDS])
        self.job_id = int(job)  # type: ignore[arg-type]
        return self.job_id

    def push(self, entries: Iterable[tuple[int, bytes]]) -> int:
        """Queue (priority, entry) pairs whose fingerprint the job has not seen; how many were
        new. Refuses (JobOver) a job that is over."""
        args: list[object] = [self.prefix]
        for priority, entry in entries:
            args += [priority, entry]
        if len(args) == 1:
            return 0
        pushed = int(self._run("push", args=args))  # type: ignore[arg-type]
        if pushed < 0:
            raise JobOver(f"job {self.job_id} of site {self.site!r} is over")
        return pushed

    def seen(self, fingerprints: Sequence[bytes]) -> list[bool]:
        """Whether each fingerprint was queued in this job already."""
        if not fingerprints:
            return []
        try:
            return [bool(x) for x in self.redis.execute_command(  # redis-py 2.10 has no smismember
                "SMISMEMBER", self.prefix + "seen", *fingerprints)]
        except redis.RedisError as error:
            raise FrontierUnavailable(f"the shared frontier failed (seen): {error}") from error

    def lease(self, count: int) -> list[bytes]:
        """Up to `count` entries, leased to this worker (expired leases are requeued first)."""
        return list(self._run("lease", args=[self.prefix, self.worker, count, self.lease_ms,  # type: ignore[call-overload]
                                              self.max_tries]))

    def acknowledge(self, fingerprints: Sequence[bytes]) -> int:
        """These requests' outcomes are committed: their leases end, whoever held them."""
        if not fingerprints:
            return 0
        return int(self._run("ack", args=[self.prefix, *fingerprints]))  # type: ignore[arg-type]

    def renew(self) -> int:
        """Push the deadline of every lease this worker holds; how many it holds."""
        return int(self._run("renew", args=[self.prefix, self.worker, self.lease_ms]))  # type: ignore[arg-type]

    def idle(self, unsent: Sequence[bytes] = ()) -> int:
        """Nothing left in this worker: what it still holds goes back (a try counted, except for
        the `unsent` fingerprints); how many did."""
        return int(self._run("idle", args=[self.prefix, self.worker, self.max_tries,  # type: ignore[arg-type]
                                            *unsent]))

    def finished(self) -> bool:
        """Whether the job is over (queue empty, no lease, no busy worker); the first worker to
        see it so ends it: the next `join` starts a new job."""
        assert self.job_id is not None
        return bool(self._run("finished", [self.site_prefix + "job"],
                              [self.prefix, self.job_id, self.max_tries, FINISHED_KEPT_SECONDS]))

    def stats(self) -> JobStats:
        """The job's counters, and what is queued and leased now."""
        p = self.prefix
        try:
            counts = {k.decode(): int(v) for k, v in self.redis.hgetall(p + "stats").items()}
            prios = self.redis.zrange(p + "prios", 0, -1)
            queued = sum(self.redis.llen(p + "q:" + prio.decode()) for prio in prios)
            queued += self.redis.llen(p + "requeued")
            leases = self.redis.zcard(p + "leases")
        except redis.RedisError as error:
            raise FrontierUnavailable(f"the shared frontier failed (stats): {error}") from error
        return JobStats(counts.get("pushed", 0), counts.get("leased", 0), counts.get("acked", 0),
                        counts.get("requeued", 0), counts.get("dropped", 0), queued, leases)

    def dropped(self) -> list[bytes]:
        """Entries set aside after their leases expired `max_tries` times."""
        return list(self.redis.lrange(self.prefix + "dropped", 0, -1))
