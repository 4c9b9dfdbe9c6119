"""robots.txt fetched once for a crawl job: the first worker that needs a host's robots.txt
claims it, fetches it and stores what came (status and body, or why it failed) under the
job's key prefix; the job's other workers parse that copy instead of fetching.

A claim is a key with a deadline, renewed by its holder while it fetches: when the holder
dies, the claim expires and another worker claims it. A stored copy is kept for a day at most
(RFC 9309, 2.4: a cached robots.txt should not be used for longer than 24 hours): a worker
that joins the job later than that fetches it again for the job.

Keys: `<job prefix>robots:<netloc>` (hash: status, body, or error), `...:claim` (the
holder's name), and `<job prefix>robots` (set of the netlocs stored, so that whoever ends
the job can delete their keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio

KEPT_SECONDS = 24 * 3600

# KEYS: claim. ARGV: holder, ms. 1 if the holder still held it (now for ms more).
_KEEP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: claim. ARGV: holder. Deleted only by its holder.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class StoredRobots:
    """What the worker that fetched robots.txt got: a response (status, decoded body), or the
    reason the fetch failed (`error`)."""

    status: int = 0
    body: bytes = b""
    error: str = ""


class JobRobots:
    """The robots.txt copies of one crawl job, as one worker (`holder`) sees them."""

    def __init__(self, client: redis.asyncio.Redis, job_prefix: str, holder: str):
        self.client = client
        self.job_prefix = job_prefix
        self.holder = holder
        self._keep = client.register_script(_KEEP)
        self._release = client.register_script(_RELEASE)

    def key(self, netloc: str) -> str:
        return f"{self.job_prefix}robots:{netloc}"

    async def stored(self, netloc: str) -> StoredRobots | None:
        fields = await self.client.hgetall(self.key(netloc))
        if not fields:
            return None
        return StoredRobots(int(fields.get(b"status", b"0")), fields.get(b"body", b""),
                            fields.get(b"error", b"").decode("utf-8", "replace"))

    async def store(self, netloc: str, copy: StoredRobots) -> None:
        key = self.key(netloc)
        index = self.job_prefix + "robots"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"status": copy.status, "body": copy.body, "error": copy.error})
            pipe.expire(key, KEPT_SECONDS)
            pipe.sadd(index, netloc)
            pipe.expire(index, KEPT_SECONDS)
            await pipe.execute()

    async def claim(self, netloc: str, seconds: float) -> bool:
        """Whether this worker is now the one to fetch (nobody held the claim)."""
        return bool(await self.client.set(self.key(netloc) + ":claim", self.holder, nx=True,
                                          px=max(1, round(seconds * 1000))))

    async def keep_claim(self, netloc: str, seconds: float) -> bool:
        """Renew this worker's claim; False if it had expired (someone else may fetch too)."""
        return bool(await self._keep(keys=[self.key(netloc) + ":claim"],
                                     args=[self.holder, max(1, round(seconds * 1000))]))

    async def release(self, netloc: str) -> None:
        await self._release(keys=[self.key(netloc) + ":claim"], args=[self.holder])
