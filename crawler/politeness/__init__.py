"""Politeness shared by the workers of a crawl job (FRONTIER_URL): the profile's limits hold
for the whole job, and robots.txt is fetched once for it.

Without FRONTIER_URL nothing here is used: Scrapy's download slots and its robots.txt
middleware work per process, as they always did. With it:

- crawler.politeness.handler: Scrapy's HTTP handler, which first takes the host's turn in
  Redis (storage.redisqueue.politeness): DOWNLOAD_DELAY between any two requests of the job to a host,
  at most CONCURRENT_REQUESTS_PER_DOMAIN of them at once.
- crawler.politeness.robots: Scrapy's robots.txt middleware, which fetches a host's
  robots.txt once for the job and parses the job's copy in the other workers
  (storage.redisqueue.robots).

Both talk to Redis through one asyncio client per crawl (the reactor never waits on them).
Settings: POLITENESS_HOLD (seconds a dead worker's token or robots.txt claim outlives it);
the keys are under FRONTIER_NAMESPACE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import redis.asyncio

from crawler.frontier import frontier_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

_clients: WeakKeyDictionary[Crawler, redis.asyncio.Redis] = WeakKeyDictionary()


def shared_redis(crawler: Crawler) -> redis.asyncio.Redis | None:
    """The crawl's asyncio Redis client (None without FRONTIER_URL): the frontier's server.
    Closed by whoever holds it last (crawler.politeness.handler closes it with the crawl)."""
    frontier = frontier_of(crawler)
    if frontier is None:
        return None
    if crawler not in _clients:
        _clients[crawler] = redis.asyncio.Redis.from_url(frontier.url, socket_connect_timeout=10,
                                                         socket_timeout=30)
    return _clients[crawler]


async def close_shared_redis(crawler: Crawler) -> None:
    client = _clients.pop(crawler, None)
    if client is not None:
        await client.aclose()
