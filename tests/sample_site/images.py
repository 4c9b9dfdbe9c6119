"""Small, valid, deterministic JPEG images for the sample site's article photos.

Why hand-made: the sample site needs real image bytes (a crawler archives them, pywb
replays them) without an imaging library. Each image is an 8x8 grey baseline JPEG whose
shade and comment segment come from its name, so every photo is a distinct, stable file.
"""

from __future__ import annotations

import struct
from hashlib import sha1

SIZE = 8  # one 8x8 block: the DCT of a flat block is its DC coefficient alone


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _one_code_table(table_class: int, value: int) -> bytes:
    """A Huffman table with a single one-bit code, `0`, for `value`."""
    return _segment(0xC4, bytes([table_class << 4]) + bytes([1] + [0] * 15) + bytes([value]))


def _entropy(shade: int) -> bytes:
    """The scan of one flat block: the DC difference (its category's code, then its bits),
    then end-of-block; padded with 1 bits, 0xFF stuffed."""
    dc = 8 * (shade - 128)  # quantiser 1; the DC coefficient of a flat block is 8x its level
    category = abs(dc).bit_length()
    magnitude = dc if dc >= 0 else dc + (1 << category) - 1
    bits = "0" + (format(magnitude, f"0{category}b") if category else "") + "0"
    bits += "1" * (-len(bits) % 8)
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return data.replace(b"\xff", b"\xff\x00")


def jpeg(name: str) -> bytes:
    """The JPEG served for the image `name` (same name, same bytes)."""
    digest = sha1(name.encode("utf-8")).digest()
    shade = 16 + digest[0] % 224
    dc_category = abs(8 * (shade - 128)).bit_length()
    return b"".join([
        b"\xff\xd8",
        _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        _segment(0xFE, b"vnarchive sample photo " + name.encode("utf-8")),
        _segment(0xDB, b"\x00" + b"\x01" * 64),
        _segment(0xC0, struct.pack(">BHHB", 8, SIZE, SIZE, 1) + b"\x01\x11\x00"),
        _one_code_table(0, dc_category),
        _one_code_table(1, 0x00),  # end of block
        _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00"),
        _entropy(shade),
        b"\xff\xd9",
    ])
