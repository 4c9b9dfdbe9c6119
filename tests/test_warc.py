"""Tests for storage.warc.writer and the strict reader of our own files (storage.warc.reader):
byte-exact output, tool compatibility, pointers, rotation, crashes.

The golden file is regenerated with ``VNARCHIVE_REGENERATE_GOLDEN=1 pytest tests/test_warc.py``;
inspect the diff by eye before committing it.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import itertools
import os
import re
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import brotli
import pytest
from fastwarc.warc import ArchiveIterator as FastArchiveIterator
from fastwarc.warc import WarcRecordType
from warcio.archiveiterator import ArchiveIterator

from storage.warc.exchange import HttpExchange, WarcPointer, WarcReadError
from storage.warc.reader import read_record
from storage.warc.writer import WarcWriter
from tests.warcio_brotli import enable_warcio_brotli

GOLDEN = Path(__file__).parent / "golden" / "exchanges.warc"
FETCHED_AT = datetime(2025, 3, 14, 1, 59, 26, 535897, tzinfo=UTC)
NOW = datetime(2025, 3, 14, 1, 59, 0, 123456, tzinfo=UTC)
OPERATOR_INFO = {
    "robots": "obey",
    "http-header-user-agent": "vnarchive/0.1 (+https://example.org/bot)",
    "isPartOf": "vnarchive-test",
}

HTML = (
    '<!doctype html>\n<html lang="vi"><head><meta charset="utf-8">'
    "<title>Tin tức VOV</title></head>\n<body><h1>Thời sự</h1><p>Hà Nội: trời nắng đẹp.</p></body></html>\n"
)
# gzip.compress(HTML.encode(), mtime=0), frozen so the golden file does not depend on the zlib build.
HTML_GZIP = base64.b64decode(
    "H4sIAAAAAAACA7NRTMlPLqksSFXIKMnNseOyAVEKOYl56bZKZZlKdjYZqYkpdja5qSWJCskZiUXF"
    "qSW2SqUlaboWQLmSzJKcVLuQzDyFkoe7VyYrhPmH2ehDBG30wRq5bJLyUyqBphjahWQ83D03U6H4"
    "4e6NQElDO5sCO4/DCxT8Hu6emWmlUFIEls17uGt9XrrCkYkPd+0s0LPRLwAaBDFBH+I+AISFil6w"
    "AAAA"
)
REQUEST_HEADERS = [
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("Accept-Language", "vi,en;q=0.5"),
    ("User-Agent", "vnarchive/0.1 (+https://example.org/bot)"),
    ("Accept-Encoding", "gzip, deflate, br"),
]


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def fixed_ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"<urn:uuid:00000000-0000-4000-8000-{next(counter):012d}>"


def make_writer(directory: Path, **overrides) -> WarcWriter:
    options = dict(
        new_record_id=fixed_ids(),
        now=lambda: NOW,
        hostname="crawler-01",
        operator_info=OPERATOR_INFO,
        file_name=lambda serial: f"test-{serial:05d}.warc.gz",
    )
    options.update(overrides)
    return WarcWriter(directory, **options)


PAGE_URL = "https://vov.vn/thoi-su/ha-noi-nang-dep-post1.vov?utm=x"


def html_exchange(*, encoding: str = "gzip", url: str = PAGE_URL) -> HttpExchange:
    """A page that came Content-Encoded and chunked (as most news sites send it)."""
    body = HTML_GZIP if encoding == "gzip" else brotli.compress(HTML.encode())
    return HttpExchange(
        url=url,
        method="GET",
        request_headers=REQUEST_HEADERS,
        request_body=b"",
        protocol="HTTP/1.1",
        status=200,
        response_headers=[
            ("Server", "nginx"),
            ("Date", "Fri, 14 Mar 2025 01:59:26 GMT"),
            ("Content-Type", "text/html; charset=utf-8"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive"),
            ("Set-Cookie", "session=abc; Path=/; HttpOnly"),
            ("Set-Cookie", "lang=vi; Path=/"),
            ("Content-Encoding", encoding),
        ],
        response_body=body,
        fetched_at=FETCHED_AT,
        ip_address="203.0.113.7",
    )


def not_found_exchange() -> HttpExchange:
    """A plain 404 without Content-Length (close-delimited) and unknown IP."""
    return HttpExchange(
        url="https://vov.vn/khong-ton-tai",
        method="GET",
        request_headers=REQUEST_HEADERS,
        request_body=b"",
        protocol=None,  # type: ignore[arg-type]  # callers may not know it
        status=404,
        response_headers=[("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")],
        response_body=b"Not Found",
        fetched_at=FETCHED_AT + timedelta(seconds=2),
    )


def gzip_members(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, length, decompressed) of every gzip member, walking unused_data."""
    members = []
    offset = 0
    while offset < len(data):
        decompressor = zlib.decompressobj(wbits=31)
        out = decompressor.decompress(data[offset:])
        assert decompressor.eof, f"incomplete gzip member at {offset}"
        length = len(data) - offset - len(decompressor.unused_data)
        members.append((offset, length, out))
        offset += length
    return members


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def warcio_check(*paths: Path, patched: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the ``warcio check`` CLI; ``patched`` first lets warcio decode br (tests.warcio_brotli)."""
    if patched:
        command = [sys.executable, "-c",
                   "import sys; from tests.warcio_brotli import enable_warcio_brotli; "
                   "enable_warcio_brotli(); from warcio.cli import main; main(sys.argv[1:])"]
    else:
        command = [sys.executable, "-m", "warcio.cli"]
    return subprocess.run(
        [*command, "check", "-v", *map(str, paths)],
        capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).parent.parent,
    )


def write_golden_pair(directory: Path) -> tuple[Path, list[WarcPointer]]:
    with make_writer(directory) as writer:
        pointers = [writer.write_exchange(html_exchange()), writer.write_exchange(not_found_exchange())]
    return directory / "test-00000.warc.gz", pointers


def corrupt_copy(source: Path, target: Path, pointer: WarcPointer, old: bytes, new: bytes) -> WarcPointer:
    """Copy with one record's content changed (and re-gzipped) so its digests no longer match."""
    data = source.read_bytes()
    member = data[pointer.offset:pointer.offset + pointer.length]
    record = gzip.decompress(member)
    assert old in record
    changed = gzip.compress(record.replace(old, new), mtime=0)
    target.write_bytes(data[:pointer.offset] + changed + data[pointer.offset + pointer.length:])
    return WarcPointer(target.name, pointer.offset, len(changed), pointer.record_id,
                       pointer.payload_digest, pointer.block_digest)


# --------------------------------------------------------------------------
# golden file and gzip layout
# --------------------------------------------------------------------------


def test_golden_file(tmp_path: Path) -> None:
    path, _ = write_golden_pair(tmp_path)
    written = gzip.decompress(path.read_bytes())
    if os.environ.get("VNARCHIVE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_bytes(written)
    assert written == GOLDEN.read_bytes()


def test_one_gzip_member_per_record(tmp_path: Path) -> None:
    path, pointers = write_golden_pair(tmp_path)
    members = gzip_members(path.read_bytes())
    assert len(members) == 5  # warcinfo + 2 x (response, request)
    for _, _, record in members:
        assert record.startswith(b"WARC/1.1\r\n") and record.endswith(b"\r\n\r\n")
        assert len(list(ArchiveIterator(io.BytesIO(record)))) == 1
    spans = [(offset, length) for offset, length, _ in members]
    assert [(p.offset, p.length) for p in pointers] == [spans[1], spans[3]]


def test_output_is_deterministic(tmp_path: Path) -> None:
    first, _ = write_golden_pair(tmp_path / "a")
    second, _ = write_golden_pair(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[4:8] == b"\0\0\0\0"  # gzip MTIME is 0


# --------------------------------------------------------------------------
# standard tools
# --------------------------------------------------------------------------


def test_warcio_check_passes_and_detects_corruption(tmp_path: Path) -> None:
    path, pointers = write_golden_pair(tmp_path)
    result = warcio_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 5

    broken = tmp_path / "broken.warc.gz"
    corrupt_copy(path, broken, pointers[1], b"Not Found", b"Not Fount")
    result = warcio_check(path, broken)
    assert result.returncode == 1
    assert "payload digest failed" in result.stdout
    assert "block digest failed" in result.stdout


def test_warcio_check_passes_with_brotli_bodies(tmp_path: Path) -> None:
    # Stock `warcio check` crashes on br bodies when Google's Brotli package is
    # installed (warcio expects brotlipy); tests.warcio_brotli registers an adapter.
    with make_writer(tmp_path) as writer:
        writer.write_exchange(html_exchange(encoding="br"))
    result = warcio_check(tmp_path / "test-00000.warc.gz", patched=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("digest pass") == 3


def test_warcio_reads_records_and_decodes_content(tmp_path: Path) -> None:
    enable_warcio_brotli()  # warcio 1.8 expects brotlipy's API, not Brotli's
    with make_writer(tmp_path) as writer:
        pointers = [writer.write_exchange(html_exchange(encoding="gzip")),
                    writer.write_exchange(html_exchange(encoding="br")),
                    writer.write_exchange(not_found_exchange())]
    types, decoded, spans = [], [], []
    with open(tmp_path / "test-00000.warc.gz", "rb") as stream:
        records = ArchiveIterator(stream, check_digests=True)
        for record in records:
            types.append(record.rec_type)
            if record.rec_type == "response":
                decoded.append(record.content_stream().read())
                spans.append((records.get_record_offset(), records.get_record_length()))
            else:
                record.content_stream().read()
            assert record.digest_checker.passed is True
    assert types == ["warcinfo"] + ["response", "request"] * 3
    assert decoded == [HTML.encode(), HTML.encode(), b"Not Found"]
    assert decoded[0].decode("utf-8") == HTML
    assert spans == [(p.offset, p.length) for p in pointers]


def test_fastwarc_reads_every_record(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        writer.write_exchange(html_exchange(encoding="gzip"))
        writer.write_exchange(html_exchange(encoding="br"))
        writer.write_exchange(not_found_exchange())
    path = tmp_path / "test-00000.warc.gz"

    with open(path, "rb") as stream:
        seen = [(r.record_type, r.http_headers.status_code if r.is_http else None, r.verify_payload_digest())
                for r in FastArchiveIterator(stream, parse_http=True)
                if r.record_type != WarcRecordType.warcinfo]
    assert seen == [(WarcRecordType.response, 200, True), (WarcRecordType.request, None, True)] * 2 + [
        (WarcRecordType.response, 404, True), (WarcRecordType.request, None, True)]

    with open(path, "rb") as stream:  # block digests cover the HTTP headers: read unparsed
        assert [r.verify_block_digest() for r in FastArchiveIterator(stream, parse_http=False)] == [True] * 7

    with open(path, "rb") as stream:
        bodies = [r.reader.read() for r in FastArchiveIterator(
            stream, record_types=WarcRecordType.response, auto_decode="content")]
    assert bodies == [HTML.encode(), HTML.encode(), b"Not Found"]


# --------------------------------------------------------------------------
# read_record
# --------------------------------------------------------------------------


def test_read_record_follows_pointers(tmp_path: Path) -> None:
    path, pointers = write_golden_pair(tmp_path)
    exchanges = [html_exchange(), not_found_exchange()]
    for pointer, exchange in zip(pointers, exchanges):
        record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
        assert record.record_type == "response"
        assert record.target_uri == exchange.url
        assert record.record_id == pointer.record_id
        assert record.date == exchange.fetched_at
        assert record.status == exchange.status
        assert record.payload == exchange.response_body
        assert record.payload_digest == pointer.payload_digest == sha1_b32(record.payload)
        member = gzip.decompress(path.read_bytes()[pointer.offset:pointer.offset + pointer.length])
        block = member.split(b"\r\n\r\n", 1)[1][:-4]
        assert record.block_digest == pointer.block_digest == sha1_b32(block)
    first = read_record(tmp_path, pointers[0].warc_file, pointers[0].offset, pointers[0].length)
    assert first.decoded_payload.decode("utf-8") == HTML and first.decode_error is None
    assert first.http_headers.get_header("Content-Encoding") == "gzip"
    assert first.warc_headers.get_header("WARC-IP-Address") == "203.0.113.7"


def test_read_record_decodes_brotli_and_reads_open_file(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    pointer = writer.write_exchange(html_exchange(encoding="br"))
    assert not (tmp_path / pointer.warc_file).exists()  # still NAME.open
    record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
    assert record.decoded_payload.decode("utf-8") == HTML
    writer.close()
    assert read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length) == record


def test_read_record_rejects_bad_pointers(tmp_path: Path) -> None:
    path, pointers = write_golden_pair(tmp_path)
    p = pointers[0]
    cases = {
        (p.warc_file, p.offset + 1, p.length): "no gzip member starts here",
        (p.warc_file, p.offset, p.length - 10): "incomplete",
        (p.warc_file, p.offset, p.length + 10): "follow the gzip member",
        ("missing.warc.gz", p.offset, p.length): "no such WARC file",
        ("../escape.warc.gz", p.offset, p.length): "relative",
    }
    for (name, offset, length), message in cases.items():
        with pytest.raises(WarcReadError, match=message) as info:
            read_record(tmp_path, name, offset, length)
        assert info.value.warc_file == name and info.value.offset == offset
        assert f"{name} at offset {offset}" in str(info.value)

    broken = corrupt_copy(path, tmp_path / "broken.warc.gz", p, b"nginx", b"NGINX")
    with pytest.raises(WarcReadError, match="digest mismatch"):
        read_record(tmp_path, broken.warc_file, broken.offset, broken.length)


def test_truncated_file_keeps_earlier_records_readable(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        pointers = [writer.write_exchange(html_exchange(url=f"https://vov.vn/bai-{n}")) for n in range(3)]
    path = tmp_path / pointers[-1].warc_file
    last = pointers[-1]
    with open(path, "r+b") as handle:  # a crash in the middle of the last response
        handle.truncate(last.offset + last.length // 2)

    for n, pointer in enumerate(pointers[:-1]):
        record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
        assert record.target_uri == f"https://vov.vn/bai-{n}"
    with pytest.raises(WarcReadError, match=r"at offset \d+: file ends after \d+ of \d+ bytes") as info:
        read_record(tmp_path, last.warc_file, last.offset, last.length)
    assert info.value.warc_file == last.warc_file and info.value.offset == last.offset


# --------------------------------------------------------------------------
# files: naming, rotation, exclusivity
# --------------------------------------------------------------------------


def test_rotation_by_size(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, max_size=2000, file_name=None)
    pointers = []
    for n in range(8):
        pointers.append(writer.write_exchange(html_exchange(url=f"https://vov.vn/bai-{n}")))
        if writer.current_path:
            assert writer.current_path.exists() and writer.current_path.name.endswith(".warc.gz.open")
            assert not (tmp_path / writer.current_path.name.removesuffix(".open")).exists()
    writer.close()
    writer.close()  # idempotent

    names = writer.files_written
    assert len(names) >= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no .open left
    pattern = re.compile(rf"vnarchive-20250314015900123456-(\d{{5}})-crawler-01-{os.getpid()}\.warc\.gz")
    assert [int(pattern.fullmatch(name).group(1)) for name in names] == list(range(len(names)))
    assert {p.warc_file for p in pointers} == set(names)

    for name in names:
        with open(tmp_path / name, "rb") as stream:
            records = list((r.rec_type, r.rec_headers.get_header("WARC-Record-ID"),
                            r.rec_headers.get_header("WARC-Concurrent-To"),
                            r.rec_headers.get_header("WARC-Filename")) for r in ArchiveIterator(stream))
        assert records[0][0] == "warcinfo" and records[0][3] == name
        pairs = records[1:]
        assert len(pairs) % 2 == 0 and pairs
        for response, request in zip(pairs[::2], pairs[1::2]):
            assert (response[0], request[0]) == ("response", "request")
            assert request[2] == response[1] and response[2] == request[1]
        assert (tmp_path / name).stat().st_size >= 2000 or name == names[-1]

    for n, pointer in enumerate(pointers):
        record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
        assert record.target_uri == f"https://vov.vn/bai-{n}"


def test_never_overwrites_existing_files(tmp_path: Path) -> None:
    (tmp_path / "test-00000.warc.gz").write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        make_writer(tmp_path).write_exchange(html_exchange())
    assert (tmp_path / "test-00000.warc.gz").read_bytes() == b"keep me"

    (tmp_path / "other-00000.warc.gz.open").write_bytes(b"another writer")
    with pytest.raises(FileExistsError):
        make_writer(tmp_path, file_name=lambda n: f"other-{n:05d}.warc.gz").write_exchange(html_exchange())
    assert (tmp_path / "other-00000.warc.gz.open").read_bytes() == b"another writer"


def test_response_record_id_can_be_given(tmp_path: Path) -> None:
    with make_writer(tmp_path) as writer:
        pointer = writer.write_exchange(html_exchange(), response_record_id="<urn:uuid:given>")
    assert pointer.record_id == "<urn:uuid:given>"
    record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
    assert record.record_id == "<urn:uuid:given>"


# --------------------------------------------------------------------------
# HTTP header normalisation
# --------------------------------------------------------------------------


def read_all(path: Path) -> list[tuple[str, str, list[tuple[str, str]], bytes]]:
    with open(path, "rb") as stream:
        return [(r.rec_type, f"{r.http_headers.protocol} {r.http_headers.statusline}",
                 r.http_headers.headers, r.content_stream().read())
                for r in ArchiveIterator(stream) if r.http_headers]


def test_truncated_download_keeps_original_content_length(tmp_path: Path) -> None:
    exchange = HttpExchange(
        url="https://vov.vn/anh.jpg", method="GET", request_headers=[], request_body=b"",
        protocol="HTTP/1.1", status=599,
        response_headers=[("Content-Length", "100000"), ("Content-Type", "image/jpeg")],
        response_body=b"\xff\xd8partial", fetched_at=FETCHED_AT,
    )
    with make_writer(tmp_path) as writer:
        writer.write_exchange(exchange)
    response, request = read_all(tmp_path / "test-00000.warc.gz")
    (_, status, headers, body), (_, request_line, request_headers, _) = response, request
    assert status == "HTTP/1.1 599 Unknown"
    assert headers == [("X-Archive-Orig-Content-Length", "100000"), ("Content-Type", "image/jpeg"),
                       ("Content-Length", "9")]
    assert body == b"\xff\xd8partial"
    assert request_line == "GET /anh.jpg HTTP/1.1" and request_headers == [("Host", "vov.vn")]


def test_post_body_and_http2_protocol(tmp_path: Path) -> None:
    exchange = HttpExchange(
        url="https://user:pw@vov.vn:8443/tim-kiem?q=b%C3%A3o", method="post",
        request_headers=[("Content-Type", "application/x-www-form-urlencoded")], request_body=b"q=1",
        protocol="h2", status=200, response_headers=[("Content-Length", "2")], response_body=b"ok",
        fetched_at=datetime(2025, 3, 14, 8, 0, tzinfo=timezone(timedelta(hours=7))),
    )
    with make_writer(tmp_path) as writer:
        pointer = writer.write_exchange(exchange)
    (_, status, headers, _), (_, request_line, request_headers, body) = read_all(tmp_path / pointer.warc_file)
    assert status == "HTTP/1.1 200 OK" and headers == [("Content-Length", "2")]
    assert request_line == "POST /tim-kiem?q=b%C3%A3o HTTP/1.1"
    assert request_headers == [("Host", "vov.vn:8443"), ("Content-Type", "application/x-www-form-urlencoded"),
                               ("Content-Length", "3")]
    assert body == b"q=1"
    record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
    assert record.warc_headers.get_header("WARC-Protocol") == "h2"
    assert record.warc_headers.get_header("WARC-Date") == "2025-03-14T01:00:00.000000Z"


def test_naive_fetch_time_is_rejected(tmp_path: Path) -> None:
    exchange = html_exchange()
    naive = HttpExchange(**{**{f: getattr(exchange, f) for f in exchange.__slots__},
                            "fetched_at": datetime(2025, 3, 14)})
    with make_writer(tmp_path) as writer, pytest.raises(ValueError, match="timezone-aware"):
        writer.write_exchange(naive)


def test_after_a_failed_write_the_next_pointer_is_still_right(tmp_path: Path) -> None:
    """A write that fails halfway (disk full) is cut back; the next record's offset must
    be where it really lands, not after the bytes that were cut."""
    from unittest import mock

    import storage.warc.writer as warc_module

    def exchange_of_size(n: int) -> HttpExchange:
        return HttpExchange(f"https://vov.vn/a-post{n}.vov", "GET", [], b"", "HTTP/1.1", 200,
                            [("Content-Type", "text/html")], b"x" * 5000 * n, FETCHED_AT)

    def fails_halfway(file, data):  # type: ignore[no-untyped-def]
        file.write(data[:100])
        raise OSError(28, "No space left on device")

    writer = WarcWriter(tmp_path)
    writer.write_exchange(exchange_of_size(1))
    with mock.patch.object(warc_module, "_write_all", fails_halfway), pytest.raises(OSError):
        writer.write_exchange(exchange_of_size(2))
    pointer = writer.write_exchange(exchange_of_size(3))
    writer.close()
    record = read_record(tmp_path, pointer.warc_file, pointer.offset, pointer.length)
    assert record.target_uri == "https://vov.vn/a-post3.vov"


def test_an_abandoned_file_is_never_written_again_even_when_its_fsync_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch that could not be catalogued leaves its file `.open` for repair; if even the
    fsync failed (EIO, a full disk), no later record may go into it, and closing never
    renames it: only repair, which catalogues what it holds, finishes it."""
    writer = make_writer(tmp_path, file_name=None)
    first = writer.write_exchange(html_exchange(url="https://vov.vn/a"))
    abandoned = writer.current_path
    assert abandoned is not None

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patched:
        patched.setattr(os, "fsync", failing_fsync)
        with pytest.raises(OSError):
            writer.abandon()
    later = writer.write_exchange(html_exchange(url="https://vov.vn/b"))
    writer.close()
    assert later.warc_file != first.warc_file
    assert abandoned.exists() and not (tmp_path / first.warc_file).exists()
    assert writer.files_written == [later.warc_file]
    with abandoned.open("rb") as stream:
        assert [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)
                if r.rec_type == "response"] == ["https://vov.vn/a"]


def test_the_writer_is_read_back_from_the_names_it_makes(tmp_path: Path) -> None:
    from storage.warc.writer import writer_of

    writer = WarcWriter(tmp_path, hostname="crawler 01")
    writer.write_exchange(html_exchange())
    open_name = writer.current_path.name if writer.current_path else ""
    writer.close()
    for name, still_open in ((open_name, True), (writer.files_written[0], False)):
        made = writer_of(name)
        assert made is not None and (made.pid, made.still_open) == (os.getpid(), still_open)
        assert made.on("crawler 01") and not made.on("crawler-02") and made.named_at is not None
    assert writer_of("WEB-20250101-foo.warc.gz") is None  # another tool's file
