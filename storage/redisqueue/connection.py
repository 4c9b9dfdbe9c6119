"""The Redis connection of shared work (FRONTIER_URL) and the one rule for key names.

Why one module: every process of a distributed job must agree on the keys, and other
programs share the server, so every key starts with `vnarchive:` and is made here.
Written for redis-py 2.10 and later alike (pywb pins 2.10.6): plain commands and Lua
scripts only.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import uuid

import redis

__all__ = ["KEY_PREFIX", "LUA_NOW_MS", "RedisUnavailable", "connect", "fingerprint", "holder_name", "key",
           "printable"]

KEY_PREFIX = "vnarchive:"
# The first lines of a Lua script that sets or compares deadlines: `now` in ms by the Redis
# server's clock, so that the machines' own clocks never matter.
LUA_NOW_MS = ("local t = redis.call('TIME')\n"
              "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n")


class RedisUnavailable(OSError):
    """FRONTIER_URL names a server that does not answer (or is not a Redis URL)."""


def key(*parts: object) -> str:
    """`vnarchive:a:b:c`: the only way keys are named."""
    return KEY_PREFIX + ":".join(str(part) for part in parts)


def fingerprint(**what: object) -> str:
    """A job's name: the same command (its inputs, catalogue, output folders) on any machine
    names the same job; other inputs, another job."""
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def holder_name() -> str:
    """Who holds a lease, token or claim: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def connect(url: str) -> redis.StrictRedis:
    """A client for `url` (`redis://host:port/db`), checked with a PING so that a wrong URL
    is one clear error before any work is taken."""
    try:
        client = redis.StrictRedis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        client.ping()
    except (redis.RedisError, ValueError) as error:
        raise RedisUnavailable(f"Redis at {printable(url)} does not answer: {error}") from error
    return client


def printable(url: str) -> str:
    """The URL without a password (redis://:secret@host -> redis://host)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url
