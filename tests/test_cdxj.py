"""CDXJ lines from catalogue rows (storage.cdxj) and the bounded-memory sort (storage.sorting)."""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.catalogue.selection import CaptureRow
from storage.cdxj import CdxjCounts, line_of
from storage.sorting import SortSpaceError, sorted_lines

WHEN = datetime(2025, 3, 14, 8, 30, 5, 123456, tzinfo=UTC)


def row(**changes: object) -> CaptureRow:
    values: dict[str, object] = dict(
        id=1, url="https://vov.vn/the-gioi?page=2", warc_type="response", status=200, fetched_at=WHEN,
        content_type="text/html; charset=utf-8", payload_digest="sha1:AAAA", warc_file="a.warc.gz",
        warc_offset=10, warc_length=100, warc_record_id="<urn:uuid:1>",
        refers_to_capture_id=None, blocked=None, site="vov",
        original_type=None, original_status=None, original_content_type=None, original_digest=None,
        original_file=None, original_offset=None, original_length=None, original_record_id=None)
    values.update(changes)
    return CaptureRow(**values)  # type: ignore[arg-type]


def test_a_response_line_is_what_cdxj_indexer_writes() -> None:
    key, stamp, fields = line_of(row()).split(" ", 2)  # type: ignore[union-attr]
    assert (key, stamp) == ("vn,vov)/the-gioi?page=2", "20250314083005")
    assert json.loads(fields) == {"url": "https://vov.vn/the-gioi?page=2", "mime": "text/html",
                                  "status": "200", "digest": "sha1:AAAA", "length": "100",
                                  "offset": "10", "filename": "a.warc.gz"}
    assert list(json.loads(fields)) == ["url", "mime", "status", "digest", "length", "offset", "filename"]
    assert "mime" not in line_of(row(content_type=None))  # type: ignore[operator]


def test_a_304_points_at_its_original_and_keeps_its_own_record() -> None:
    revisit = row(warc_type="revisit", status=304, content_type=None, warc_file="b.warc.gz",
                  refers_to_capture_id=7, original_type="response", original_status=200,
                  original_content_type="text/html", original_digest="sha1:AAAA",
                  original_file="a.warc.gz", original_offset=10, original_length=100)
    fields = json.loads(line_of(revisit).split(" ", 2)[2])  # type: ignore[union-attr]
    assert (fields["mime"], fields["status"], fields["filename"]) == ("text/html", "200", "a.warc.gz")
    assert fields["revisit"] == {"filename": "b.warc.gz", "offset": "10", "length": "100"}


def test_what_is_left_out_is_counted() -> None:
    counts = CdxjCounts()
    assert line_of(row(blocked="challenge"), counts) is None
    assert line_of(row(warc_type="revisit", status=304, refers_to_capture_id=None), counts) is None
    assert (counts.blocked, counts.unresolved_304) == (1, 1)
    assert counts.unresolved_examples == ["https://vov.vn/the-gioi?page=2 at 20250314083005"]
    identical = line_of(row(warc_type="revisit", status=200), counts)
    assert identical is not None and '"mime": "warc/revisit"' in identical


def test_sorted_through_temporary_runs_equals_sorted() -> None:
    lines = [f"{random.Random(n).random():.6f} {n} {{}}" for n in range(1000)] + ["ả é", "a"]
    assert list(sorted_lines(lines, run_size=7)) == sorted(lines)
    assert list(sorted_lines([], run_size=7)) == []


def test_an_unreadable_url_keys_a_line_without_whitespace() -> None:
    url = "http://vov.vn:b c/tin tức\tmới\u3000x"  # surt cannot read its port
    line = line_of(row(url=url))
    assert line is not None
    key, stamp, fields = line.split(" ", 2)
    assert key == "http://vov.vn:b%20c/tin%20tức%09mới%E3%80%80x" and not any(c.isspace() for c in key)
    assert (stamp, json.loads(fields)["url"]) == ("20250314083005", url)


def test_a_temporary_folder_that_cannot_hold_the_sort_is_no_output_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Named as what failed, and not an OSError a command would blame on its own output."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with pytest.raises(SortSpaceError, match="gone cannot hold the sort") as raised:
        list(sorted_lines((str(n) for n in range(10)), run_size=3))
    assert not isinstance(raised.value, OSError)
