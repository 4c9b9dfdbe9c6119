"""The shared job a `scrapy reextract` or `scrapy warcimport` joins when FRONTIER_URL is set
(storage.redisqueue.leases): one place reads the settings and refuses what cannot work."""

from __future__ import annotations

from typing import Any

from crawler.config import setting
from crawler.exitcodes import ExitCode, Unusable
from storage.redisqueue.connection import RedisUnavailable, connect, fingerprint
from storage.redisqueue.leases import SharedTasks


def shared_tasks(settings: Any, kind: str, **what: object) -> SharedTasks | None:
    """The job of this command on these inputs (`what` names it: the same inputs on any
    machine name the same job); None without FRONTIER_URL."""
    url = setting(settings, "FRONTIER_URL", str)
    if not url:
        return None
    lease = setting(settings, "REDIS_TASK_LEASE", float)
    if lease <= 0:
        raise Unusable(f"REDIS_TASK_LEASE={lease}: give a number of seconds above 0", ExitCode.USAGE)
    try:
        client = connect(url)
    except RedisUnavailable as error:
        raise Unusable(f"{error}: start it, or unset FRONTIER_URL to work alone") from error
    return SharedTasks(client, kind, fingerprint(kind=kind, **what), lease)
