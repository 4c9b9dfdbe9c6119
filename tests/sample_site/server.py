"""Loopback HTTP/1.1 server for a :class:`~.site.SampleSite`.

It behaves like the real portal where it matters to an archiving crawler:
gzip ``Content-Encoding`` when asked for (so WARC records hold compressed
bodies), RSS sent with real ``Transfer-Encoding: chunked`` framing,
strong ``ETag`` plus ``Last-Modified`` with ``304 Not Modified`` answers for
incremental crawls, ``HEAD`` support and keep-alive connections.

``serve(site)`` runs it in a daemon thread for tests; ``python -m
tests.sample_site`` runs it in the foreground for demos and benchmarks and
prints the base URL as the first line of stdout.
"""

from __future__ import annotations

import argparse
import gzip
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from .routes import Response
from .site import RequestRecord, SampleSite

HOST = "127.0.0.1"
CHUNK_SIZE = 2048


@lru_cache(maxsize=512)
def gzip_body(body: bytes) -> bytes:
    """Deterministic gzip (mtime 0), cached because pages repeat."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` value allows gzip (q > 0)."""
    for part in (header or "").split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        if coding.lower() not in ("gzip", "x-gzip", "*"):
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


class SampleHandler(BaseHTTPRequestHandler):
    """Turns a :class:`Response` into HTTP; quiet unless the server is verbose."""

    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    timeout = 30
    server: SampleHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    def _answer(self, head: bool) -> None:
        self._received = time.monotonic()
        try:
            response = self.server.site.respond(self.path, self.server.base_url)
        except Exception:  # a bug in the sample site: show it, answer 500
            traceback.print_exc()
            response = Response(500, b"internal error\n", "text/plain; charset=utf-8", cacheable=False)
        self._send(response, head)

    def _send(self, response: Response, head: bool) -> int:
        headers: list[tuple[str, str]] = [("Content-Type", response.content_type)]
        if response.status == 200:
            headers.append(("ETag", response.etag))
            if response.last_modified is not None:
                headers.append(("Last-Modified", http_date(response.last_modified)))
            if self._not_modified(response):
                return self._send_not_modified(headers[1:], response.compressible)
        body = response.body
        if response.compressible:
            headers.append(("Vary", "Accept-Encoding"))
            if body and accepts_gzip(self.headers.get("Accept-Encoding")):
                body = gzip_body(body)
                headers.append(("Content-Encoding", "gzip"))
        if response.location:
            headers.append(("Location", response.location))
        headers.extend(response.headers)
        chunked = response.chunked and self.request_version != "HTTP/1.0"  # 1.0 has no chunking
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        logged = self._start(response.status, headers)
        if not head:
            self._write_body(body, chunked)
        self.wfile.flush()
        self.server.site.answered(logged, time.monotonic())
        return response.status

    def _send_not_modified(self, validators: list[tuple[str, str]], compressible: bool) -> int:
        extra = [("Vary", "Accept-Encoding")] if compressible else []
        logged = self._start(304, validators + extra)
        self.wfile.flush()
        self.server.site.answered(logged, time.monotonic())
        return 304

    def _start(self, status: int, headers: list[tuple[str, str]]) -> RequestRecord:
        # logged before a byte is sent: a client that has its answer finds it in the log
        logged = self.server.site.record(self.command, self.path, status, self._received)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        return logged

    def _write_body(self, body: bytes, chunked: bool) -> None:
        if not chunked:
            self.wfile.write(body)
            return
        for start in range(0, len(body), CHUNK_SIZE):
            chunk = body[start:start + CHUNK_SIZE]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def _not_modified(self, response: Response) -> bool:
        """RFC 9110 precedence: If-None-Match wins over If-Modified-Since."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            return "*" in tags or response.etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if not if_modified_since or response.last_modified is None:
            return False
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return response.last_modified.replace(microsecond=0) <= since


class SampleHTTPServer(ThreadingHTTPServer):
    """Threaded server bound to 127.0.0.1 that can close idle keep-alive
    connections on shutdown (daemon threads would otherwise keep answering)."""

    daemon_threads = True

    def __init__(self, site: SampleSite, port: int = 0, verbose: bool = False) -> None:
        self.site = site
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, port), SampleHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup
        # that can stall without network access; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)) and not self.verbose:
            return  # client went away; not worth a traceback
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextmanager
def serve(site: SampleSite, port: int = 0, *, verbose: bool = False) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1:``port`` (0 = any free port) in a daemon
    thread; yields the base URL and shuts the server down on exit."""
    server = SampleHTTPServer(site, port, verbose)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"sample-site-{server.server_address[1]}", daemon=True)
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Foreground server: ``python -m tests.sample_site [--port P] [--articles N]``."""
    parser = argparse.ArgumentParser(prog="python -m tests.sample_site", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--articles", type=int, default=30, help="number of articles with gold text")
    parser.add_argument("--seed", type=int, default=1, help="content seed")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    server = SampleHTTPServer(SampleSite(args.articles, args.seed), args.port, args.verbose)
    print(server.base_url, flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
    return 0
