"""storage.warc.decoding: every coding decoded as before, and no step ever holds more than its limit."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest

from storage.warc.decoding import (
    CHUNK,
    CorruptData,
    DecodeError,
    TooLarge,
    decode_body,
    decode_or_keep,
    gunzip,
    gunzip_members,
)
from tests.archived import MiB, gzip_bomb

HTML = "<html><body><p>Tiếng Việt có dấu</p></body></html>".encode() * 40


def chunked(body: bytes, size: int = 100) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


def raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


@pytest.mark.parametrize(("encoded", "coding"), [
    (gzip.compress(HTML), "gzip"),
    (gzip.compress(HTML), "x-gzip"),
    (gzip.compress(HTML[:500]) + gzip.compress(HTML[500:]), "gzip"),  # two members
    (gzip.compress(HTML) + b"\r\n\x00junk", "gzip"),  # trailing junk some servers add
    (zlib.compress(HTML), "deflate"),
    (raw_deflate(HTML), "deflate"),
    (brotli.compress(HTML), "br"),
    (gzip.compress(gzip.compress(HTML)), "gzip, gzip"),
    (gzip.compress(brotli.compress(HTML)), "br, gzip"),  # applied in order: undone in reverse
    (HTML, "identity"),
    (HTML, ""),
])
def test_every_coding_decodes(encoded: bytes, coding: str) -> None:
    assert decode_body(encoded, content_encoding=coding, limit=len(HTML)) == HTML
    assert decode_body(chunked(encoded), transfer_encoding="chunked", content_encoding=coding,
                       limit=None) == HTML


@pytest.mark.parametrize(("encoded", "coding"), [
    (gzip.compress(HTML)[:-20], "gzip"),
    (b"\x1f\x8b\x08\x00 not really gzip", "gzip"),
    (b"neither zlib nor raw deflate", "deflate"),
    (brotli.compress(HTML)[:-5], "br"),
    (HTML, "compress"),
])
def test_corrupt_data_is_a_decode_error_and_the_body_is_kept_as_stored(encoded: bytes, coding: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_body(encoded, content_encoding=coding, limit=None)
    assert not isinstance(raised.value, TooLarge) and raised.value.reason == "decode_error"


def test_decode_or_keep_returns_the_stored_body_with_the_reason() -> None:
    from warcio.statusandheaders import StatusAndHeaders

    http = StatusAndHeaders("200 OK", [("Content-Encoding", "gzip")], protocol="HTTP/1.1")
    assert decode_or_keep(gzip.compress(HTML), http, None) == (HTML, None)
    body, error = decode_or_keep(b"\x1f\x8bbroken", http, None)
    assert body == b"\x1f\x8bbroken" and isinstance(error, DecodeError)
    body, error = decode_or_keep(gzip.compress(HTML), http, 100)
    assert isinstance(error, TooLarge) and error.reason == "too_large" and error.limit == 100
    assert error.__traceback__ is None  # keeps no frame (and no partial output) alive


def brotli_bomb(size: int) -> bytes:
    return brotli.compress(bytes(size), quality=5)


def nested_bomb(size: int) -> bytes:
    return gzip.compress(gzip_bomb(size))


def incompressible_inside(_: int) -> bytes:
    """The outer gzip holds a gzip of random bytes: the intermediate itself is over the limit."""
    return gzip.compress(gzip.compress(os.urandom(4 * MiB), compresslevel=1), compresslevel=1)


@pytest.mark.parametrize(("make", "coding"), [
    (gzip_bomb, "gzip"),
    (lambda size: zlib.compress(bytes(size), 9), "deflate"),
    (lambda size: raw_deflate(bytes(size)), "deflate"),
    (brotli_bomb, "br"),
    (nested_bomb, "gzip, gzip"),
    (incompressible_inside, "gzip, gzip"),
])
def test_a_bomb_stops_at_the_limit_without_materialising_more(make: Callable[[int], bytes],
                                                              coding: str) -> None:
    limit = MiB
    bomb = make(64 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge) as raised:
            decode_body(bomb, content_encoding=coding, limit=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.limit == limit and raised.value.reason == "too_large"
    # the output so far, its growth and one chunk (Brotli's own step is about 1.5 chunks)
    assert peak < 2 * (limit + 2 * CHUNK), f"{peak:,} bytes held while decoding"


def test_the_limit_is_on_the_decoded_length_itself() -> None:
    body = bytes(1000)
    assert decode_body(gzip.compress(body), content_encoding="gzip", limit=1000) == body
    with pytest.raises(TooLarge):
        decode_body(gzip.compress(body), content_encoding="gzip", limit=999)
    with pytest.raises(TooLarge):
        decode_body(body, limit=999)  # identity too: the caller asked for at most 999 bytes


def test_gunzip_of_a_local_file_is_capped() -> None:
    assert gunzip(gzip.compress(HTML), len(HTML)) == HTML
    with pytest.raises(TooLarge):
        gunzip(gzip_bomb(16 * MiB), MiB)


def test_gunzip_members_says_where_the_members_end() -> None:
    """The one member loop the readers share: they judge what follows the members."""
    first, second = gzip.compress(HTML[:500]), gzip.compress(HTML[500:])
    assert gunzip_members(first + second + b"tail", None) == (HTML, len(first + second))
    assert gunzip_members(first + second, None, first_only=True) == (HTML[:500], len(first))
    assert gunzip_members(first + second[:-3], None) == (HTML, None)  # cut inside the second
    assert gunzip_members(first[:-3], None, first_only=True)[1] is None


def test_gunzip_members_refuses_corrupt_data_and_names_what_grew_too_large() -> None:
    damaged = bytearray(gzip.compress(HTML))
    damaged[12:20] = b"\xff" * 8
    with pytest.raises(CorruptData) as corrupt:
        gunzip_members(bytes(damaged), None)
    assert corrupt.value.detail and isinstance(corrupt.value, DecodeError)
    with pytest.raises(TooLarge, match="the record's gzip member") as raised:
        gunzip_members(gzip_bomb(16 * MiB), MiB, what="the record's gzip member")
    assert raised.value.limit == MiB
