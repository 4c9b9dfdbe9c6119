"""SharedRobotsTxtMiddleware: Scrapy's robots.txt middleware, which in a shared crawl job
(FRONTIER_URL) fetches each host's robots.txt once for the whole job (storage.redisqueue.robots).

Scrapy fetches robots.txt once per host per process. Here the first worker of the job to
need it claims it, fetches it as Scrapy does (so it is archived as every exchange is: the
WARC exporter sees its response) and stores the status and body, or why the fetch failed,
in Redis; the job's other workers wait for that copy and parse it, and the `robots_parsed`
signal fires in each of them as if it had fetched (the spider takes its Sitemap lines from
there). A worker that waited longer than a fetch can take (DOWNLOAD_TIMEOUT for each try of
RETRY_TIMES, plus POLITENESS_HOLD), or whose fetcher died (its claim expired), fetches it
itself. If Redis fails, the worker fetches robots.txt itself, as without a job.

Stats: robotstxt/from_job (copies parsed that another worker fetched), robotstxt/job_waits
(hosts whose robots.txt another worker was fetching), robotstxt/job_errors (Redis failures).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Self

import redis
from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from crawler.config import setting
from crawler.frontier import frontier_of
from crawler.politeness import shared_redis
from storage.redisqueue.connection import holder_name
from storage.redisqueue.robots import JobRobots, StoredRobots

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

FIRST_PAUSE, LONGEST_PAUSE = 0.05, 1.0  # seconds between looks for the job's copy


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        settings = crawler.settings
        self.hold = max(1.0, setting(settings, "POLITENESS_HOLD", float))
        self.patience = (settings.getint("RETRY_TIMES") + 1) * settings.getfloat("DOWNLOAD_TIMEOUT") \
            + self.hold
        self.holder = holder_name()
        self._deciding: dict[str, asyncio.Future[None]] = {}
        self._fetching: dict[str, JobRobots] = {}  # hosts this worker fetches for the job
        self._failures: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _job_robots(self) -> JobRobots | None:
        frontier, client = frontier_of(self.crawler), shared_redis(self.crawler)
        if frontier is None or client is None or frontier.job_id is None:
            return None
        return JobRobots(client, frontier.prefix, self.holder)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            robots = self._job_robots()
            if robots is not None:
                if netloc not in self._deciding:  # the first request to this host here
                    self._deciding[netloc] = asyncio.ensure_future(
                        self._from_job(robots, request, netloc))
                await asyncio.shield(self._deciding[netloc])
        return await super().robot_parser(request)  # fetches unless the job's copy was parsed

    async def _from_job(self, robots: JobRobots, request: Request, netloc: str) -> None:
        """Parse the job's copy, or fetch it for the job (the claim's holder, or once waiting
        is over); what Scrapy's middleware does next finds the parser, or fetches."""
        deadline, pause, waited = time.monotonic() + self.patience, FIRST_PAUSE, False
        try:
            while time.monotonic() < deadline:
                copy = await robots.stored(netloc)
                if copy is not None:
                    await self._parse_copy(copy, netloc, request)
                    return
                if await robots.claim(netloc, self.hold):
                    await self._fetch_for_job(robots, request, netloc)
                    return
                if not waited:
                    waited = True
                    self._stats.inc_value("robotstxt/job_waits")
                await asyncio.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)
            logger.warning("Waited %.0f s for another worker to fetch %s's robots.txt: "
                           "fetching it here", self.patience, netloc)
            await self._fetch_for_job(robots, request, netloc)
        except redis.RedisError as error:
            self._stats.inc_value("robotstxt/job_errors")
            logger.error("The job's copy of %s's robots.txt cannot be used (%s): this worker "
                         "fetches its own", netloc, error)

    async def _parse_copy(self, copy: StoredRobots, netloc: str, request: Request) -> None:
        self._stats.inc_value("robotstxt/from_job")
        if copy.error:
            logger.info("Another worker of the job could not fetch %s's robots.txt (%s): "
                        "every request to it is allowed, as for that worker", netloc, copy.error)
            self._parsers[netloc] = None
            return
        parser = build_from_crawler(self._parserimpl, self.crawler, copy.body)
        self._parsers[netloc] = parser
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request)

    async def _fetch_for_job(self, robots: JobRobots, request: Request, netloc: str) -> None:
        """Scrapy's fetch, its response stored for the job (`_parse_robots`), its failure too."""
        self._fetching[netloc] = robots
        keeper = asyncio.ensure_future(self._keep_claim(robots, netloc))
        try:
            parser = await super().robot_parser(request)
            if parser is None and netloc in self._failures:
                await robots.store(netloc, StoredRobots(error=self._failures[netloc]))
        finally:
            keeper.cancel()
            del self._fetching[netloc]
            await robots.release(netloc)

    async def _keep_claim(self, robots: JobRobots, netloc: str) -> None:
        while True:
            await asyncio.sleep(self.hold / 3)
            try:
                await robots.keep_claim(netloc, self.hold)
            except redis.RedisError as error:
                logger.warning("Could not renew the claim on %s's robots.txt (%s)", netloc, error)

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        robots = self._fetching.get(netloc)
        if robots is not None:
            try:
                await robots.store(netloc, StoredRobots(response.status, response.body))
            except redis.RedisError as error:
                self._stats.inc_value("robotstxt/job_errors")
                logger.error("Could not store %s's robots.txt for the job (%s): the other workers "
                             "fetch it themselves", netloc, error)
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        self._failures[netloc] = f"{type(exc).__name__}: {exc}"
        super()._robots_error(exc, netloc)
