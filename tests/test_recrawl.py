"""Recrawl decisions, revisit decisions, the run lock and the repair of abandoned files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.extensions.runlock import RunLock, SiteLocked, pid_alive
from crawler.middlewares.recrawl import RecrawlPolicy
from crawler.revisits import how_to_store
from storage.catalogue import frontier, locks
from storage.catalogue.db import open_catalogue
from storage.catalogue.frontier import Backoff, CaptureState, FetchFailure, HeldBack
from storage.catalogue.repository import NewCapture, capture_values
from storage.repair import abandoned, repair, uncatalogued
from storage.warc.exchange import HttpExchange
from storage.warc.writer import WarcWriter

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
FETCHED = NOW - timedelta(days=2)


def state(**changes: object) -> CaptureState:
    values: dict[str, object] = dict(
        url="https://vov.vn/a-post1.vov", record_id="<urn:uuid:2>", fetched_at=FETCHED, status=200,
        payload_digest="sha1:AAAA", etag='"v1"', last_modified="Sun, 22 Nov 2026 12:00:00 GMT",
        source_lastmod=None, payload_record_id="<urn:uuid:1>", payload_capture_id=1,
        payload_fetched_at=FETCHED - timedelta(days=5), done_at=FETCHED, listed_lastmod=None)
    values.update(changes)
    return CaptureState(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("latest", "lastmod", "sitemap", "fetch", "reason"), [
    (None, None, False, True, "new"),
    (state(), None, False, False, "unchanged"),
    (state(), FETCHED - timedelta(hours=1), False, False, "unchanged"),
    (state(), FETCHED + timedelta(hours=1), False, True, "lastmod"),
    # a sitemap's lastmod is compared with what that sitemap said before, not with our clock
    (state(listed_lastmod=FETCHED - timedelta(days=9)), FETCHED - timedelta(days=9), True,
     False, "unchanged"),
    (state(listed_lastmod=FETCHED - timedelta(days=9)), FETCHED - timedelta(days=8), True,
     True, "lastmod"),
    (state(status=500), None, False, True, "retry"),
    (state(done_at=None), None, False, True, "unfinished"),
    (state(done_at=FETCHED - timedelta(seconds=1)), None, False, True, "unfinished"),
])
def test_articles_are_fetched_again_only_on_a_sign(latest: CaptureState | None,
                                                   lastmod: datetime | None, sitemap: bool,
                                                   fetch: bool, reason: str) -> None:
    decision = RecrawlPolicy().article(latest, lastmod, NOW, from_sitemap=sitemap)
    assert (decision.fetch, decision.reason) == (fetch, reason)


def test_revisit_interval_and_validators() -> None:
    policy = RecrawlPolicy(revisit_interval=timedelta(days=1))
    decision = policy.article(state(), None, NOW)
    assert (decision.fetch, decision.reason) == (True, "interval")
    assert decision.headers == {"If-None-Match": '"v1"',
                                "If-Modified-Since": "Sun, 22 Nov 2026 12:00:00 GMT"}
    assert policy.hub(state()) == decision.headers
    assert policy.hub(state(done_at=None)) == {}  # never parsed: fetch it whole
    assert RecrawlPolicy(enabled=False).article(state(), None, NOW).fetch


@pytest.mark.parametrize(("kind", "status", "digest", "previous", "revisit", "outcome"), [
    ("article", 200, "sha1:AAAA", None, None, "new"),
    ("article", 200, "sha1:BBBB", state(), None, "changed"),
    ("article", 200, "sha1:AAAA", state(), "identical-payload-digest", "unchanged"),
    ("article", 304, "sha1:3I42", state(), "server-not-modified", "not_modified"),
    ("article", 404, "sha1:3I42", state(), None, "gone"),
    ("article", 404, "sha1:3I42", None, None, "failed"),
    ("article", 503, "sha1:3I42", state(), None, "failed"),
    ("article", 301, "sha1:3I42", None, None, None),
    ("hub", 304, "sha1:3I42", state(), "server-not-modified", None),
    ("hub", 200, "sha1:AAAA", state(status=404), None, None),  # never refer to an error page
])
def test_how_an_exchange_is_stored(kind: str, status: int, digest: str,
                                   previous: CaptureState | None, revisit: str | None,
                                   outcome: str | None) -> None:
    stored = how_to_store(kind, status, digest, previous)
    assert (stored.revisit.profile if stored.revisit else None, stored.outcome) == (revisit, outcome)
    if stored.revisit:  # it refers to the record that holds the payload, not to another revisit
        assert stored.revisit.refers_to_record_id == "<urn:uuid:1>"
        assert stored.revisit.payload_digest == "sha1:AAAA"


def test_one_run_per_site_and_stale_locks_are_taken_over(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    first = RunLock(sessions, "vov", 1, timedelta(minutes=10))
    first.acquire()
    with pytest.raises(SiteLocked, match="being crawled by run 1"):
        RunLock(sessions, "vov", 2, timedelta(minutes=10)).acquire()
    RunLock(sessions, "other", 3, timedelta(minutes=10)).acquire()  # other sites are free
    first.release()
    second = RunLock(sessions, "vov", 4, timedelta(minutes=10))
    second.acquire()
    assert second.taken_over is None

    # a holder on this host whose process is gone is stale at once
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    with sessions.begin() as session:
        locks.release_lock(session, "vov", 4)
        locks.take_lock(session, "vov", 5, socket.gethostname(), int(dead.stdout), NOW)
    third = RunLock(sessions, "vov", 6, timedelta(minutes=10))
    third.acquire()
    assert third.taken_over is not None and third.taken_over.run_id == 5

    # elsewhere, a holder is stale once its heartbeat stops
    with sessions.begin() as session:
        locks.release_lock(session, "vov", 6)
        locks.take_lock(session, "vov", 7, "elsewhere", 1, NOW - timedelta(hours=1))
    fourth = RunLock(sessions, "vov", 8, timedelta(minutes=10))
    fourth.acquire()
    assert fourth.taken_over is not None and fourth.taken_over.run_id == 7
    assert fourth.beat() and not third.beat()  # the run whose lock was taken over learns it


def exchange(n: int) -> HttpExchange:
    body = f"<html><body><p>trang {n}</p></body></html>".encode() * 50
    return HttpExchange(f"https://vov.vn/a-post{n}.vov", "GET", [("User-Agent", "t")], b"",
                        "HTTP/1.1", 200, [("Content-Type", "text/html")], body, NOW)


def test_an_abandoned_file_is_cut_after_its_last_whole_record_and_catalogued(
        tmp_path: Path) -> None:
    dead_pid = 999_999_99
    name = f"vnarchive-20261124120000000000-00000-{socket.gethostname()}-{dead_pid}.warc.gz"
    writer = WarcWriter(tmp_path, file_name=lambda serial: name)
    pointers = [writer.write_exchange(exchange(n)) for n in range(3)]
    writer._file.close()  # the process dies: no close(), no rename  # noqa: SLF001
    path = tmp_path / (name + ".open")
    whole = path.stat().st_size
    with open(path, "r+b") as stream:  # and it died in the middle of a record
        stream.truncate(pointers[2].offset + pointers[2].length // 2)

    assert abandoned(tmp_path, socket.gethostname(), lambda pid, since: pid != dead_pid) == [path]
    assert abandoned(tmp_path, socket.gethostname(), lambda pid, since: True) == []
    fixed = repair(path)
    assert fixed.path == tmp_path / name and not path.exists()
    assert fixed.records == 1 + 2 * 2  # warcinfo and two whole exchanges
    assert fixed.cut_bytes == pointers[2].offset + pointers[2].length // 2 - pointers[2].offset
    assert fixed.path.stat().st_size == pointers[2].offset < whole
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(fixed.path)],
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout

    known = {pointers[0].record_id}
    missing = uncatalogued(fixed.path, name, lambda ids: known & set(ids), crawl_run_id=9)
    assert [(c.warc_record_id, c.warc_offset, c.warc_length) for c in missing] == [
        (pointers[1].record_id, pointers[1].offset, pointers[1].length)]
    assert missing[0].payload_digest == pointers[1].payload_digest
    assert (missing[0].status, missing[0].crawl_run_id) == (200, 9)


def test_a_304_after_an_error_is_not_a_revisit_of_the_error() -> None:
    stored = how_to_store("article", 304, "sha1:3I42", state(status=503))
    assert stored.revisit is None


def test_a_zombie_or_a_reused_pid_is_not_a_live_run() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # exited but not yet reaped: a zombie, as a crawler whose parent never waits for it
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while _state(child.pid) != "Z" and datetime.now(UTC) < deadline:
            pass  # busy-wait on the process state, not on time
        assert _state(child.pid) == "Z"
        assert not pid_alive(child.pid)
    finally:
        child.wait()
    me = os.getpid()
    assert pid_alive(me) and pid_alive(me, since=datetime.now(UTC))
    # the lock names a pid taken when this process did not run yet: another process's
    assert not pid_alive(me, since=datetime(2001, 1, 1, tzinfo=UTC))


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0]


def test_failures_win_over_every_other_sign_and_crash_safety_over_settings() -> None:
    backing_off = HeldBack("http_503", 1, NOW + timedelta(hours=1), None)
    given_up = HeldBack("http_503", 5, None, NOW - timedelta(days=1))
    policy = RecrawlPolicy()
    assert policy.article(None, NOW, NOW, held=backing_off).reason == "backoff"
    assert policy.article(state(), None, NOW, held=given_up).reason == "given_up"
    assert policy.article(state(), NOW, NOW, held=given_up).fetch  # a new sign after giving up
    unfinished = state(done_at=None)
    for enabled in (True, False):
        decision = RecrawlPolicy(enabled=enabled).article(unfinished, None, NOW)
        assert (decision.fetch, decision.reason) == (True, "unfinished")
    assert RecrawlPolicy(enabled=False).article(state(), None, NOW).reason == "forced"


def test_a_failing_url_backs_off_longer_each_time_then_is_given_up(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    backoff = Backoff(first=timedelta(minutes=30), factor=4, give_up_after=3)
    url, refused = "https://vov.vn/a-post1.vov", "https://vov.vn/b-post2.vov"
    challenged = "https://vov.vn/c-post3.vov"
    with sessions.begin() as session:
        frontier.remember(session, "vov", [frontier.Discovered(url)], NOW)
    delays = []
    for attempt in range(1, 4):
        with sessions.begin() as session:
            frontier.record_failures(session, "vov", [
                FetchFailure(url, "http_503", True), FetchFailure(refused, "robots_txt", False),
                FetchFailure(challenged, "blocked", True, may_give_up=False)], NOW, backoff)
            held = frontier.held_back(session, "vov", NOW)
            pending = [d.url for d in frontier.pending(session, "vov", NOW + timedelta(days=9))]
        assert held[refused].gave_up_at == NOW and held[refused].reason == "robots_txt"
        if attempt < 3:
            delays.append(held[url].retry_at - NOW)
            assert url in pending and refused not in pending
    assert delays == [timedelta(minutes=30), timedelta(hours=2)]
    assert held[url].gave_up_at == NOW and held[url].attempts == 3  # given up: done
    # a URL only ever answered by a bot challenge backs off but is never given up
    assert held[challenged].gave_up_at is None and held[challenged].retry_at is not None
    assert pending == [challenged]
    with sessions.begin() as session:  # a success ends the streak
        frontier.mark_done(session, "vov", [url], NOW)
        assert url not in frontier.held_back(session, "vov", NOW)


def test_a_capture_the_catalogue_cannot_hold_as_sent_is_normalised_with_the_reasons() -> None:
    capture = NewCapture(
        url="https://vov.vn/a", warc_type="response", status=1000, fetched_at=NOW,
        content_type="text/html; " + "x" * 300, payload_digest="sha1:A", payload_length=1,
        warc_file="f.warc.gz", warc_offset=0, warc_length=1, warc_record_id="<urn:uuid:1>",
        etag='"a\x00b"')
    fitted = capture_values(capture)
    assert (fitted["status"], len(fitted["content_type"]), fitted["etag"]) == (0, 255, '"ab"')
    assert set(fitted["problems"]) == {"status", "content_type", "etag"}
    assert "1000" in fitted["problems"]["status"]
    plain = replace(capture, status=200, content_type="text/html", etag=None)
    assert capture_values(plain)["problems"] is None
