"""The sample site pre-rendered to files and served by nginx, so the server is not what a
crawl benchmark measures.

Why: the sample site's own server renders every page in Python, in the benchmark's process;
at thousands of pages a second it would be the bottleneck and its CPU would blur the
crawler's. Here every page the crawlers can reach is rendered once, in-process, with the
nginx origin as its base (so the pages' absolute links keep the crawlers on it), and nginx
serves the files: gzip from pre-compressed files, validators and 304s from file mtimes,
keep-alive, one worker. Without nginx, the sample site's server runs in a process of its
own (its CPU is then counted as the server's; it will likely be the bottleneck).

    with serve_static(SampleSite(n_articles=2000), workdir) as server:
        mark = server.mark()
        ...  # crawl server.origin
        server.requests(since=mark)  # what the server answered, with times
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from tests.sample_site import SampleSite
from tests.sample_site.content import CATEGORIES, MENU_ONLY_CATEGORIES
from tests.sample_site.routes import FEEDS, HTML, JPEG, RSS, TEXT, XML, Response

NGINX = "/usr/sbin/nginx"
HOST = "127.0.0.1"
VIETNAM = timezone(timedelta(hours=7))
# The type nginx gives a file by its extension (`charset utf-8` adds the text types' charset).
TYPES = {"html": HTML, "vov": HTML, "xml": XML, "rss": RSS, "txt": TEXT, "jpg": JPEG}
STARTUP_TIMEOUT = 10.0


@dataclass(frozen=True)
class LogLine:
    """One request the server answered."""

    at: float  # seconds since the epoch
    status: int
    target: str


@dataclass
class Rendering:
    """What nginx needs beyond the files: URLs that are no plain path (listing pages and
    their `?page=N`), paths of an odd type, and redirects."""

    hubs: dict[str, str] = field(default_factory=dict)  # request URI -> file
    odd_types: dict[str, str] = field(default_factory=dict)  # path -> Content-Type
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location
    files: int = 0


# ----------------------------------------------------------------------------- rendering

def targets(site: SampleSite, now: datetime) -> Iterator[str]:
    """Every request target a crawler of the site can reach: robots.txt, the sitemap index,
    its monthly sitemaps and the current month's (which a crawler derives), the feeds,
    every listing page of every category, every article-pattern URL, old article URLs
    (redirects) and the articles' photos."""
    catalog = site.catalog
    yield "/robots.txt"
    yield "/sitemap.xml"
    months = {*catalog.sitemaps, (now.year, now.month)}
    yield from (f"/sitemaps/{year}/{month}/article.xml" for year, month in sorted(months))
    yield from FEEDS
    yield "/"
    for category in (*CATEGORIES, *MENU_ONLY_CATEGORIES):
        yield f"/{category}"
        yield from (f"/{category}?page={page}" for page in range(catalog.page_count(category)))
    for item in catalog.items:
        yield item.path
        yield item.legacy_path
        yield urlsplit(item.image).path


def render(site: SampleSite, base: str, root: Path) -> Rendering:
    """Write every status-200 answer under `root` (hubs under `root/_hubs`), with the mtime
    its Last-Modified says and a `.gz` beside it where the server would compress."""
    rendering = Rendering()
    (root / "_hubs").mkdir(parents=True)
    for target in dict.fromkeys(targets(site, datetime.now(VIETNAM))):
        response = site.respond(target, base)
        path = urlsplit(target).path
        if response.status in (301, 302) and response.location:
            rendering.redirects[path] = response.location
        if response.status != 200:
            continue
        if path == "/" or path[1:] in CATEGORIES or path[1:] in MENU_ONLY_CATEGORIES:
            name = "/_hubs/" + re.sub(r"[^a-z0-9-]+", "_", target.strip("/") or "home") + ".html"
            rendering.hubs[target] = name
            path = name
        elif TYPES.get(path.rpartition(".")[2]) != response.content_type:
            rendering.odd_types[path] = response.content_type  # a PDF or cp1258 article
        write_page(root / path.lstrip("/"), response)
        rendering.files += 1
    return rendering


def write_page(file: Path, response: Response) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_bytes(response.body)
    files = [file]
    if response.compressible and response.body:
        compressed = file.with_name(file.name + ".gz")
        compressed.write_bytes(gzip.compress(response.body, compresslevel=6, mtime=0))
        files.append(compressed)
    if response.last_modified is not None:
        stamp = response.last_modified.timestamp()
        for written in files:
            os.utime(written, (stamp, stamp))


# ----------------------------------------------------------------------------- nginx

def nginx_config(port: int, htdocs: Path, work: Path, rendering: Rendering) -> str:
    quoted = '"{}"'.format
    hubs = "\n".join(f"        {quoted(uri)} {file};" for uri, file in rendering.hubs.items())
    odd = "\n".join(f"        location = {quoted(path)} {{ types {{}} default_type {quoted(kind)}; "
                    "charset off; }" for path, kind in rendering.odd_types.items())
    moved = "\n".join(f"        location = {quoted(path)} {{ return 301 {quoted(location)}; }}"
                      for path, location in rendering.redirects.items())
    temp = "\n".join(f"    {kind}_temp_path {work / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    by_type: dict[str, list[str]] = {}
    for extension, kind in TYPES.items():
        by_type.setdefault(kind.split(";")[0], []).append(extension)
    types = " ".join(f"{kind} {' '.join(extensions)};" for kind, extensions in by_type.items())
    return f"""{user}worker_processes 1;
pid {work / 'nginx.pid'};
error_log {work / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    log_format bench '$msec $status "$request_uri"';
    access_log {work / 'access.log'} bench;
{temp}
    types {{ {types} }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/xml application/rss+xml text/plain;  # and text/html, always
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    gzip off;
    gzip_static on;
    gzip_vary on;
    etag on;
    if_modified_since before;
    map_hash_max_size 65536;
    map_hash_bucket_size 128;
    map $request_uri $file {{
        default $uri;
{hubs}
    }}
    server {{
        listen {HOST}:{port};
        root {htdocs};
        location / {{ try_files $file =404; }}
{odd}
{moved}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Poll a connect until the server answers (or gives up, saying why)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before answering")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.01)
    raise SystemExit(f"{what} did not answer on port {port} within {STARTUP_TIMEOUT:.0f} s")


class NginxServer:
    """nginx serving the rendered files; its access log tells what was requested."""

    def __init__(self, process: subprocess.Popen[bytes], origin: str, work: Path, files: int):
        self.process, self.origin, self.work = process, origin, work
        self.description = f"nginx ({files} pre-rendered files, 1 worker, gzip_static)"
        self.log = work / "access.log"

    def processes(self) -> list[psutil.Process]:
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def mark(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def requests(self, since: int) -> list[LogLine]:
        with self.log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode("utf-8", "replace").splitlines()
        found = []
        for line in lines:
            stamp, status, target = line.split(" ", 2)
            found.append(LogLine(float(stamp), int(status), target.strip('"')))
        return found


class PythonServer:
    """Fallback: the sample site's own server in a process of its own, its request log
    (stderr, one line a request) read as it comes, timed on arrival."""

    LINE = re.compile(r'"[A-Z]+ (?P<target>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')

    def __init__(self, process: subprocess.Popen[str], origin: str):
        self.process, self.origin = process, origin
        self.description = "the sample site's own Python server, in a process of its own " \
                           "(nginx not found)"
        self.lines: list[LogLine] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if match := self.LINE.search(line):
                self.lines.append(LogLine(time.time(), int(match["status"]), match["target"]))

    def processes(self) -> list[psutil.Process]:
        return [psutil.Process(self.process.pid)]

    def mark(self) -> int:
        return len(self.lines)

    def requests(self, since: int) -> list[LogLine]:
        return self.lines[since:]


Server = NginxServer | PythonServer


@contextmanager
def serve_static(site: SampleSite, work: Path) -> Iterator[Server]:
    """The site served by nginx from files rendered under `work` (else by its own server in
    a process of its own); stopped on exit."""
    if shutil.which("nginx") or Path(NGINX).exists():
        with _nginx(site, work) as server:
            yield server
    else:
        with _python_server(site) as server:
            yield server


@contextmanager
def _nginx(site: SampleSite, work: Path) -> Iterator[NginxServer]:
    port = free_port()
    origin = f"http://{HOST}:{port}"
    htdocs = work / "htdocs"
    rendering = render(site, origin, htdocs)
    config = work / "nginx.conf"
    config.write_text(nginx_config(port, htdocs, work, rendering))
    binary = shutil.which("nginx") or NGINX
    process = subprocess.Popen([binary, "-p", str(work), "-c", str(config), "-g", "daemon off;"],
                               stdin=subprocess.DEVNULL)
    try:
        wait_until_listening(port, process, f"nginx (see {work / 'error.log'})")
        yield NginxServer(process, origin, work, rendering.files)
    finally:
        stop(process)


@contextmanager
def _python_server(site: SampleSite) -> Iterator[PythonServer]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sample_site", "--port", str(port), "--articles",
         str(site.n_articles), "--seed", str(site.seed), "--verbose"],
        cwd=Path(__file__).resolve().parents[1], stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_listening(port, process, "the sample site's server")
        yield PythonServer(process, f"http://{HOST}:{port}")
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """nginx and the sample server both stop cleanly on SIGTERM."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
