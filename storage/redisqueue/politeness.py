"""One politeness budget per host for every crawler process that shares a Redis: the time the
host may next be sent a request, and its concurrency tokens.

Why: each Scrapy process keeps its own download slots, so N workers of a crawl job would each
wait DOWNLOAD_DELAY between their own requests and each send CONCURRENT_REQUESTS_PER_DOMAIN
at once, N times what the site's profile allows. Here a request first takes one of the host's
tokens and reserves its send time, atomically, by Redis's clock (the workers' clocks may
differ):

    send = max(now, next); next = send + delay; the caller waits send - now

so the requests of all workers are each `delay` after the one before, and at most
`concurrency` are out at once. A token is a member of a sorted set scored by its deadline:
its holder renews it while its request is out and removes it when done, and a dead worker's
token expires at its deadline.

Keys, under a prefix (the crawler's: "<namespace>:polite:") and the host: `<host>:next` (µs) and
`<host>:tokens` (zset token -> deadline µs); both expire a minute after their last use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio

KEPT_MS = 60_000  # how long a host's keys outlive their last use

_CLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%d', x) end
local function keep(key, until_us)
  local ms = math.floor((until_us - now) / 1000) + KEPT_MS
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
""".replace("KEPT_MS", str(KEPT_MS))

# KEYS: tokens, next. ARGV: token, concurrency, delay µs, hold µs.
# Returns {wait µs, send time µs}, or {-1, µs until the first token held expires}.
_ACQUIRE = _CLOCK + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {-1, tonumber(first[2]) - now}
end
local send = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
local after = send + tonumber(ARGV[3])
redis.call('SET', KEYS[2], int(after))
keep(KEYS[2], after)
local deadline = send + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], int(deadline), ARGV[1])
keep(KEYS[1], deadline)
return {send - now, send}
"""

# KEYS: tokens. ARGV: hold µs, then tokens. Returns how many were still held (now renewed).
_RENEW = _CLOCK + """
local deadline = now + tonumber(ARGV[1])
local held = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', int(deadline), ARGV[i])
    held = held + 1
  end
end
if held > 0 then keep(KEYS[1], deadline) end
return held
"""

# KEYS: next. ARGV: delay µs. A request is sent now: the next one waits `delay` from now, even
# if its sender was late for its reserved time (a busy process).
_SENT = _CLOCK + """
local after = now + tonumber(ARGV[1])
if after > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], int(after))
  keep(KEYS[1], after)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Turn:
    """A token taken and a send time reserved: send `wait` seconds from now (`at`: µs, Redis's
    clock); the host's next request `delay` seconds after it."""

    wait: float
    at: int
    delay: float


class HostBudgets:
    """The shared budgets of every host, as one process sees them (redis.asyncio client)."""

    def __init__(self, client: redis.asyncio.Redis, prefix: str):
        self.client = client
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self._sent = client.register_script(_SENT)

    def keys(self, host: str) -> tuple[str, str]:
        """The host's tokens and next-send keys."""
        return f"{self.prefix}{host}:tokens", f"{self.prefix}{host}:next"

    async def take_turn(self, host: str, token: str, concurrency: int, delay: float,
                        hold: float) -> Turn | None:
        """Take one of the host's `concurrency` tokens (held `hold` seconds from the send time
        unless renewed) and reserve a send time `delay` after the last one reserved; None
        when every token is held."""
        wait, at = await self._acquire(keys=list(self.keys(host)), args=[
            token, max(1, concurrency), _us(max(0.0, delay)), _us(hold)])
        if wait < 0:
            return None
        return Turn(wait / 1e6, at, max(0.0, delay))

    async def sending(self, host: str, delay: float) -> None:
        """The request is going out now, maybe later than reserved: the host's next request
        waits `delay` from now at least."""
        await self._sent(keys=[self.keys(host)[1]], args=[_us(max(0.0, delay))])

    async def renew(self, host: str, tokens: Iterable[str], hold: float) -> int:
        """Push the deadline of these tokens `hold` seconds on; how many were still held."""
        tokens = list(tokens)
        if not tokens:
            return 0
        return int(await self._renew(keys=[self.keys(host)[0]], args=[_us(hold), *tokens]))

    async def release(self, host: str, token: str) -> None:
        """The request is done (or never sent): its token is free for any worker."""
        await self.client.zrem(self.keys(host)[0], token)


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)
