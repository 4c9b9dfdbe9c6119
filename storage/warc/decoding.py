"""Undo an HTTP body's Transfer-Encoding and Content-Encoding without ever holding more than a cap.

Why this module exists: an archived body is stored as the server sent it, and a server can
send a small body that inflates enormously (a 1 MB gzip of 1 GiB of zeros). Decoding it in
full before checking its size takes gigabytes. Here every step (de-chunking, then each
content coding in reverse order, `gzip, gzip` included) decompresses incrementally and
stops as soon as its output passes the limit, raising `TooLarge`; so no intermediate body
is ever longer than the limit plus one chunk. Corrupt data raises `DecodeError`.

Codings: chunked (Transfer-Encoding), gzip / x-gzip (several members; trailing junk that
does not start a member is ignored, as some servers add it), deflate (zlib-wrapped, or raw
as many servers send it), br (the `brotli` package), identity.

The one gzip-member loop lives here too: `gunzip_members` inflates a WARC record's member
(or members) for `storage.warc.reader` under the same cap, and says where they ended.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from functools import cache
from typing import Any

from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders

__all__ = ["CHUNK", "GZIP_MAGIC", "CorruptData", "DecodeError", "TooLarge", "decode_body",
           "decode_http_body", "decode_or_keep", "gunzip", "gunzip_members"]

CHUNK = 64 * 1024
"""Output produced per decompression step: the most a step can overshoot the limit by."""
BROTLI_INPUT_STEP = 256
"""Input fed per step to a Brotli decompressor that cannot bound its output (old releases)."""
GZIP_MAGIC = b"\x1f\x8b"


class DecodeError(ValueError):
    """The body cannot be decoded: corrupt or truncated data, or an unknown coding."""

    reason = "decode_error"


class CorruptData(DecodeError):
    """Compressed data that does not inflate; `detail` is zlib's word for why."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"corrupt compressed data: {detail}")
        self.detail = detail


RECORD_HEADROOM = 1 << 20
"""Bytes a record may hold beyond its body's decode limit (WARC and HTTP headers): a record
read for its body inflates to at most limit + headroom, or it is too large."""


class TooLarge(DecodeError):
    """The decoded body would be longer than the limit; decoding stopped there."""

    reason = "too_large"

    def __init__(self, limit: int, coding: str) -> None:
        super().__init__(f"the body decodes ({coding}) to more than {limit:,} bytes")
        self.limit = limit
        self.coding = coding


def decode_http_body(payload: bytes, http: StatusAndHeaders | None, limit: int | None) -> bytes:
    """`decode_body` with the codings named by a record's HTTP headers (none: as stored)."""
    if http is None:
        return payload
    return decode_body(payload, transfer_encoding=http.get_header("Transfer-Encoding"),
                       content_encoding=http.get_header("Content-Encoding"), limit=limit)


def decode_or_keep(payload: bytes, http: StatusAndHeaders | None,
                   limit: int | None) -> tuple[bytes, DecodeError | None]:
    """The decoded body, or the body as stored and why it could not be decoded (servers send
    corrupt bodies, and the archive keeps them as sent)."""
    try:
        return decode_http_body(payload, http, limit), None
    except DecodeError as error:
        return payload, error.with_traceback(None)  # no frames kept alive with partial output


def decode_body(payload: bytes, *, transfer_encoding: str | None = None,
                content_encoding: str | None = None, limit: int | None) -> bytes:
    """The body with its transfer and content codings undone.

    Args:
        payload: the body as stored.
        transfer_encoding, content_encoding: the header values (comma-separated lists).
        limit: the most bytes any step may produce; None for no limit.
    Returns:
        The decoded body, at most `limit` bytes long.
    Raises:
        TooLarge: a step (or the body as it is) is longer than `limit`.
        DecodeError: corrupt data or an unsupported coding.
    """
    body = payload
    if (transfer_encoding or "").strip().lower() == "chunked":
        body = ChunkedDataReader(io.BytesIO(body)).read()  # never longer than what it reads
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    for coding in reversed([c for c in codings if c and c != "identity"]):
        body = _decoder(coding)(body, _Output(limit, coding))
    if limit is not None and len(body) > limit:
        raise TooLarge(limit, content_encoding or "identity")
    return body


def gunzip(data: bytes, limit: int | None) -> bytes:
    """Every gzip member of `data`, at most `limit` bytes of them (a local `.gz` file)."""
    return _gunzip(data, _Output(limit, "gzip"))


def gunzip_members(data: bytes, limit: int | None, *, what: str = "gzip",
                   first_only: bool = False) -> tuple[bytes, int | None]:
    """Inflate the gzip member `data` starts with (and, unless `first_only`, every member
    that directly follows it), producing at most `limit` bytes in all.

    Returns the inflated bytes and where in `data` the last member ended (None: `data`
    ends inside it); what follows that is left to the caller to judge. Raises `TooLarge`
    (naming `what`) past the limit and `CorruptData` for data that does not inflate.
    """
    out = _Output(limit, what)
    end = _inflate_members(data, out, first_only=first_only)
    return out.result(), end


class _Output:
    """Collects a step's output and raises TooLarge as soon as it passes the limit."""

    def __init__(self, limit: int | None, coding: str) -> None:
        self.limit, self.coding = limit, coding
        self.data = bytearray()

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if self.limit is not None and len(self.data) > self.limit:
            raise TooLarge(self.limit, self.coding)

    def result(self) -> bytes:
        return bytes(self.data)


def _decoder(coding: str) -> Callable[[bytes, _Output], bytes]:
    decoders = {"gzip": _gunzip, "x-gzip": _gunzip, "deflate": _inflate_deflate, "br": _unbrotli}
    if coding not in decoders:
        raise DecodeError(f"unsupported Content-Encoding {coding!r}")
    return decoders[coding]


def _gunzip(data: bytes, out: _Output) -> bytes:
    if data and _inflate_members(data, out, first_only=False) is None:
        raise DecodeError("gzip body is truncated")
    return out.result()  # any trailing junk (some servers add it) is ignored


def _inflate_members(data: bytes, out: _Output, *, first_only: bool) -> int | None:
    """The one gzip-member loop: inflate members from the start of `data` while another
    member follows; return where the last ended, None if `data` ends inside one."""
    start = 0
    while True:
        end = _inflate(zlib.decompressobj(wbits=16 + zlib.MAX_WBITS), data, start, out)
        if end is None or first_only or not data.startswith(GZIP_MAGIC, end):
            return end
        start = end


def _inflate_deflate(data: bytes, out: _Output) -> bytes:
    try:
        return _inflate_whole(zlib.MAX_WBITS, data, out)
    except TooLarge:
        raise
    except DecodeError:
        pass
    out.data.clear()  # many servers send raw deflate without the zlib wrapper
    return _inflate_whole(-zlib.MAX_WBITS, data, out)


def _inflate_whole(wbits: int, data: bytes, out: _Output) -> bytes:
    if _inflate(zlib.decompressobj(wbits=wbits), data, 0, out) is None:
        raise DecodeError("deflate body is truncated")
    return out.result()


def _inflate(decompressor: zlib._Decompress, data: bytes, start: int, out: _Output) -> int | None:
    """Inflate one stream from data[start:], CHUNK bytes of input and at most CHUNK bytes of
    output at a time; returns where the stream ended, or None if the data ends first."""
    view = memoryview(data)
    try:
        for piece_start in range(start, len(data), CHUNK):
            pending: bytes | memoryview = view[piece_start:piece_start + CHUNK]
            while pending and not decompressor.eof:
                out.add(decompressor.decompress(pending, CHUNK))
                pending = decompressor.unconsumed_tail
            while not decompressor.eof:  # output still held back by the size bound
                chunk = decompressor.decompress(b"", CHUNK)
                if not chunk:
                    break
                out.add(chunk)
            if decompressor.eof:
                return min(piece_start + CHUNK, len(data)) - len(decompressor.unused_data)
    except zlib.error as error:
        raise CorruptData(str(error)) from None
    return None


def _unbrotli(data: bytes, out: _Output) -> bytes:
    brotli = _brotli()
    decompressor = brotli.Decompressor()
    try:
        if _brotli_bounds_output():
            out.add(decompressor.process(data, output_buffer_limit=CHUNK))
            while not decompressor.is_finished() and not decompressor.can_accept_more_data():
                out.add(decompressor.process(b"", output_buffer_limit=CHUNK))
        else:
            for start in range(0, len(data), BROTLI_INPUT_STEP):
                out.add(decompressor.process(data[start:start + BROTLI_INPUT_STEP]))
    except brotli.error as error:
        raise DecodeError(f"corrupt brotli data: {error}") from None
    if not decompressor.is_finished():
        raise DecodeError("brotli body is truncated")
    return out.result()


@cache
def _brotli() -> Any:
    """Brotli's module, imported lazily (only br bodies need it). brotlipy installs a `brotli`
    package over Brotli's whose decompressor cannot stop at an output size: refused, not used."""
    import brotli

    if not hasattr(brotli.Decompressor(), "process"):
        raise DecodeError("br bodies need the Brotli package, but the `brotli` module installed is "
                          "brotlipy's: pip uninstall brotlipy")
    return brotli


@cache
def _brotli_bounds_output() -> bool:
    """True if this Brotli release can stop at an output size (`output_buffer_limit`, 1.2+)."""
    brotli = _brotli()
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    return True
