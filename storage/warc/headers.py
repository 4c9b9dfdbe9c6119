"""The header blocks of the records we write: WARC headers, and HTTP heads made safe to replay.

Why this module exists: what a server sent is not always what a WARC reader can take back.
Scrapy hands over a de-chunked body with the original framing headers, h2/h3 protocol
names replay tools cannot parse, and header values that may hold stray newlines. Here the
stored heads are repaired so they describe the stored body, while every original value is
kept (renamed ``X-Archive-Orig-*``) rather than dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders

from storage.warc.exchange import HttpExchange

__all__ = [
    "ORIG_HEADER_PREFIX",
    "WARC_VERSION",
    "clean_value",
    "http_protocol",
    "request_http_headers",
    "response_http_headers",
    "warc_date",
    "warc_headers",
]

WARC_VERSION = "1.1"
DEFAULT_PROTOCOL = "HTTP/1.1"
ORIG_HEADER_PREFIX = "X-Archive-Orig-"


def clean_value(value: str) -> str:
    """Fold CR/LF into spaces: a stray newline would end the header block early."""
    return value.replace("\r", " ").replace("\n", " ")


def warc_date(when: datetime) -> str:
    """WARC-Date with microseconds (WARC/1.1 allows them) in UTC."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {when!r}")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def warc_headers(pairs: Iterable[tuple[str, str | None]]) -> StatusAndHeaders:
    """WARC header block in the given order, skipping empty values."""
    headers = [(name, clean_value(value)) for name, value in pairs if value]
    return StatusAndHeaders("", headers, protocol="WARC/" + WARC_VERSION)


def http_protocol(protocol: str | None) -> tuple[str, str | None]:
    """Status-line protocol plus the WARC-Protocol value for non-HTTP/1.x.

    Replay tools only parse ``HTTP/1.0``/``HTTP/1.1`` status lines, so an h2/h3
    exchange is written as HTTP/1.1 and its real protocol kept in WARC-Protocol.
    """
    value = (protocol or "").strip()
    if value.upper() in ("HTTP/1.0", "HTTP/1.1"):
        return value.upper(), None
    lowered = value.lower()
    if lowered.startswith(("h2", "http/2")):
        return DEFAULT_PROTOCOL, "h2"
    if lowered.startswith(("h3", "http/3")):
        return DEFAULT_PROTOCOL, "h3"
    return DEFAULT_PROTOCOL, None


def response_http_headers(exchange: HttpExchange, protocol: str) -> StatusAndHeaders:
    """HTTP status line and headers of the response record."""
    # Any status a server sent is archived as it came (1000, 099): the record keeps what
    # happened; the catalogue normalises what it cannot hold (storage.catalogue.values).
    headers = _fix_framing(_clean_headers(exchange.response_headers), len(exchange.response_body))
    statusline = f"{exchange.status} {_reason_phrase(exchange.status)}"
    return StatusAndHeaders(statusline, headers, protocol=protocol)


def request_http_headers(exchange: HttpExchange, protocol: str) -> StatusAndHeaders:
    """Request line (``GET /path?query HTTP/1.1``) and headers, Host first if added."""
    headers = _clean_headers(exchange.request_headers)
    if not _has_header(headers, "Host"):
        headers.insert(0, ("Host", clean_value(_host_header(exchange.url))))
    framed = _has_header(headers, "Content-Length") or _has_header(headers, "Transfer-Encoding")
    if exchange.request_body or framed:
        headers = _fix_framing(headers, len(exchange.request_body))
    method = clean_value(exchange.method or "GET").upper()
    statusline = f"{clean_value(_request_target(exchange.url))} {protocol}"
    return StatusAndHeaders(statusline, headers, protocol=method)


def _reason_phrase(status: int) -> str:
    """Standard reason phrase; servers' own phrases are not kept by Scrapy."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _request_target(url: str) -> str:
    """Origin-form request target (``/path?query``) for the request line."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return target


def _host_header(url: str) -> str:
    """Host header value: netloc without any userinfo."""
    return urlsplit(url).netloc.rpartition("@")[2]


def _has_header(headers: Iterable[tuple[str, str]], name: str) -> bool:
    lowered = name.lower()
    return any(key.lower() == lowered for key, _ in headers)


def _fix_framing(headers: list[tuple[str, str]], body_length: int) -> list[tuple[str, str]]:
    """Make the stored headers describe the stored (de-chunked) body.

    Readers trust Transfer-Encoding and Content-Length to find the body, so
    ``Transfer-Encoding`` is renamed to ``X-Archive-Orig-Transfer-Encoding`` and
    exactly one true ``Content-Length`` is ensured; a differing original (e.g. a
    truncated download) is kept as ``X-Archive-Orig-Content-Length``.
    """
    true_length = str(body_length)
    lengths = [value.strip() for key, value in headers if key.lower() == "content-length"]
    keep_length = lengths == [true_length]
    fixed: list[tuple[str, str]] = []
    for key, value in headers:
        lowered = key.lower()
        if lowered == "transfer-encoding" or (lowered == "content-length" and not keep_length):
            fixed.append((ORIG_HEADER_PREFIX + key, value))
        else:
            fixed.append((key, value))
    if not keep_length:
        fixed.append(("Content-Length", true_length))
    return fixed


def _clean_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(clean_value(str(key)), clean_value(str(value))) for key, value in headers]
