"""Let warcio decode `br` bodies in this process, for tests that read our WARCs with warcio.

warcio 1.8 was written for *brotlipy* (`decompress()`, a settable `unused_data`); the
`Brotli` package this project depends on has `process()` and no such attribute, so warcio's
`content_stream()` (and `warcio check`) raises AttributeError on every
`Content-Encoding: br` record. The archive itself never needs this: the crawl does not ask
for `br`, and our readers decode bodies with `storage.warc.decoding`. Tests that check
warcio can read a `br` body we stored call `enable_warcio_brotli()` first.
"""

from __future__ import annotations

import brotli
from warcio.bufferedreaders import BufferedReader


class _WarcioBrotliDecompressor:
    """Google's `brotli.Decompressor` with the zlib-like face warcio expects."""

    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()
        self.unused_data = None

    def decompress(self, data: bytes) -> bytes:
        return self._decompressor.process(data)


def enable_warcio_brotli() -> None:
    """Fill warcio's decompressor table for `br`, unless warcio's own entry works."""
    factory = BufferedReader.DECOMPRESSORS.get("br")
    if factory is not None:
        try:
            factory()
            return  # warcio's own support works (brotlipy installed)
        except AttributeError:
            pass
    BufferedReader.DECOMPRESSORS["br"] = _WarcioBrotliDecompressor
