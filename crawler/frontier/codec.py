"""Requests as the shared frontier stores them: a 12-byte fingerprint of the URL, a version
byte, then the request's fields, pickled and deflated against a preset dictionary of the
words every request repeats (callback names, meta keys). A vov.vn article request takes
about 160 bytes instead of 350 for its plain pickle: Redis memory per queued URL is what a
million-article backfill pays for.

Only what the worker that leases it needs travels: URL, method, body, callback names,
priority, headers (the validators), cb_kwargs and meta less what this process looked up for
itself (`last_capture`: the leasing worker's archive looks the capture up again; its
catalogue is the same) and Scrapy's per-process bookkeeping. Entries are pickles: the Redis
server must be as trusted as the catalogue (scrapy-redis makes the same assumption).
"""

from __future__ import annotations

import pickle
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.utils.request import request_from_dict

from storage.redisqueue.frontier import FINGERPRINT_BYTES, fingerprint

if TYPE_CHECKING:
    from scrapy import Spider

class _When(float):
    """A timezone-aware datetime in transit: POSIX seconds (a pickled datetime is 98 bytes)."""


VERSION = b"\x01"
WINDOW_BITS = 10  # 1 KiB: the dictionary and one request fit; a small window is quick to set up
# Never change these bytes: entries queued with them are read with them (a new dictionary
# takes a new VERSION).
_DICTIONARY = pickle.dumps((
    "https://", "http://", "parse_article", "fetch_failed", "parse_sitemap", "parse_category",
    "parse_feed", "parse_photo", "photo_failed", "GET",
    {"kind": "article", "lastmod": 0.0, "listed_in": "https://", "reason": "new",
     "category": "", "page": 1, "previous": "", "resume": False, "left_over": True,
     "recrawl": "vanished", "hub": "photo", "depth": 1, "If-None-Match": "",
     "If-Modified-Since": "", ".xml": "sitemap", "when": _When(0.0)},
), protocol=5)
# Meta a worker keeps for itself: looked up again where the request is leased, or Scrapy's own.
LOCAL_META = frozenset({"last_capture", "download_slot", "download_latency", "download_timeout",
                        "_slot_key", "retry_times"})


def entry_of(request: Request, spider: Spider) -> bytes:
    """The request's entry in the shared queue."""
    data = request.to_dict(spider=spider)
    meta = {key: _plain(value) for key, value in data["meta"].items() if key not in LOCAL_META}
    headers = {key: value for key, value in data["headers"].items()}
    return packed(data["url"], data["callback"], data["errback"], data["priority"], meta,
                  headers or None, data["method"] if data["method"] != "GET" else None,
                  data["body"] or None, data["cb_kwargs"] or None, data["flags"] or None)


def packed(url: str, *fields: Any) -> bytes:
    """The entry of a request given its fields in `entry_of`'s order (benchmarks build
    entries without building requests)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -WINDOW_BITS, 2, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY)
    body = packer.compress(pickle.dumps((url, *fields), protocol=5)) + packer.flush()
    return fingerprint(url) + VERSION + body


def request_of(entry: bytes, spider: Spider) -> Request:
    """The request an entry holds (refuses, with ValueError, one it cannot read)."""
    version = entry[FINGERPRINT_BYTES:FINGERPRINT_BYTES + 1]
    if version != VERSION:
        raise ValueError(f"a frontier entry of unknown version {version!r}")
    unpacker = zlib.decompressobj(-WINDOW_BITS, _DICTIONARY)
    (url, callback, errback, priority, meta, headers, method, body, cb_kwargs,
     flags) = pickle.loads(unpacker.decompress(entry[FINGERPRINT_BYTES + 1:]))
    return request_from_dict({
        "url": url, "callback": callback, "errback": errback, "priority": priority,
        "meta": {key: _restored(value) for key, value in meta.items()},
        "headers": headers or {}, "method": method or "GET", "body": body or b"",
        "cb_kwargs": cb_kwargs or {}, "flags": flags or [], "dont_filter": False,
    }, spider=spider)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return _When(value.timestamp())
    return value


def _restored(value: Any) -> Any:
    if isinstance(value, _When):
        return datetime.fromtimestamp(value, UTC)
    return value
