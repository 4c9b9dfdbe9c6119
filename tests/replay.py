"""The real pywb, serving collections from given CDXJ indexes and WARC folders, for replay tests.

    with Pywb(tmp, {"ours": Collection(warc_dir / "indexes", warc_dir)}) as pywb:
        assert_replays(pywb, "ours", session, warc_dir, capture)

`assert_replays` checks any catalogued capture: pywb, asked for it by its own time and URL,
answers with the status and the (decoded) payload of the record that holds its content.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from storage.catalogue.models import Capture
from storage.warc.decoding import decode_body
from storage.warc.reader import read_capture
from tests.conftest import need_service

PYWB_ENVIRONMENT = Path(__file__).resolve().parents[1] / ".venv" / "pywb"
START_TIMEOUT = 60.0  # seconds for pywb to answer its first request


@dataclass(frozen=True)
class Collection:
    index: Path  # a CDXJ file, or a folder of them (pywb reads every *.cdxj in it)
    archive: Path  # the folder the index's file names are relative to


@dataclass(frozen=True)
class Replayed:
    status: int
    headers: dict[str, str]
    body: bytes  # Content-Encoding undone


class Pywb:
    """`wayback` on a free loopback port, as a subprocess, with a config.yaml of our own."""

    def __init__(self, folder: Path, collections: dict[str, Collection]):
        self.folder = folder
        self.collections = collections
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> Pywb:
        # scripts/setup installs pywb in an environment of its own (it pins an old redis-py)
        wayback = shutil.which("wayback", path=str(PYWB_ENVIRONMENT / "bin")) or \
            shutil.which("wayback", path=str(Path(sys.executable).parent)) or shutil.which("wayback")
        if wayback is None:
            need_service("pywb's wayback command", FileNotFoundError("wayback"))
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "config.yaml").write_text(self._config(), encoding="utf-8")
        self.port = _free_port()
        self.log = open(self.folder / "pywb.log", "wb")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            [str(wayback), "-b", "127.0.0.1", "-p", str(self.port)], cwd=self.folder,
            stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_up()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def get(self, collection: str, timestamp: str, url: str) -> Replayed:
        """`GET /<collection>/<timestamp>id_/<url>`: the archived response, unrewritten."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", f"/{collection}/{timestamp}id_/{url}")
            response = connection.getresponse()
            body = response.read()
            headers = {name.lower(): value for name, value in response.getheaders()}
        finally:
            connection.close()
        body = decode_body(body, content_encoding=headers.get("content-encoding"), limit=None)
        return Replayed(response.status, headers, body)

    def _config(self) -> str:
        lines = ["collections:"]
        for name, collection in self.collections.items():
            index = f"{collection.index}/" if collection.index.is_dir() else str(collection.index)
            lines += [f"  {name}:", f"    index_paths: {index}",
                      f"    archive_paths: {collection.archive}/"]
        return "\n".join(lines) + "\n"

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError("pywb exited: " + (self.folder / "pywb.log").read_text()[-3000:])
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/")
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)  # polling a condition with a deadline, not a fixed wait
        raise AssertionError(f"pywb did not answer within {START_TIMEOUT} s")


def timestamp(capture: Capture) -> str:
    return capture.fetched_at.strftime("%Y%m%d%H%M%S")


def payload_holder(session: Session, capture: Capture) -> Capture:
    """The capture whose record holds the content `capture` stands for (revisits: followed)."""
    seen = 0
    while capture.warc_type == "revisit" and capture.refers_to_capture_id is not None and seen < 5:
        original = session.get(Capture, capture.refers_to_capture_id)
        assert original is not None, f"the original of capture {capture.id} is not catalogued"
        capture, seen = original, seen + 1
    return capture


def assert_replays(pywb: Pywb, collection: str, session: Session, warc_dir: Path,
                   capture: Capture) -> None:
    """pywb replays `capture` at its own time with its original's status and payload."""
    holder = payload_holder(session, capture)
    record = read_capture(warc_dir, holder.warc_file, holder.warc_offset, holder.warc_length)
    replayed = pywb.get(collection, timestamp(capture), capture.url)
    where = f"{capture.warc_type} {capture.status} of {capture.url} at {timestamp(capture)}"
    assert replayed.status == record.status, f"{where}: pywb answered {replayed.status}"
    assert replayed.body == record.decoded_payload, \
        f"{where}: pywb's body ({len(replayed.body)} bytes) is not the archived payload " \
        f"({len(record.decoded_payload)} bytes)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
