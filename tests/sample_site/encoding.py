"""Windows-1258 (Vietnamese legacy code page) encoding.

Old Vietnamese sites still serve ``windows-1258`` pages.  That code page has
only some precomposed letters (â ê ô ơ ư ă đ, a few accented vowels); tone
marks are written as combining characters after the base letter.  Python's
``cp1258`` codec does not do that composition itself, so ``"Việt".encode
("cp1258")`` fails.  :func:`encode_cp1258` decomposes each letter and
recomposes only what the code page can represent, which is what legacy
Vietnamese software produced.  Decoding with ``cp1258`` and normalising to
NFC gives the original text back.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator


def _encodable(char: str) -> bool:
    try:
        char.encode("cp1258")
    except UnicodeEncodeError:
        return False
    return True


def _clusters(decomposed: str) -> Iterator[str]:
    """Split NFD text into base character + following combining marks."""
    cluster = ""
    for char in decomposed:
        if cluster and not unicodedata.combining(char):
            yield cluster
            cluster = ""
        cluster += char
    if cluster:
        yield cluster


def _compose(cluster: str) -> str:
    """Best cp1258 spelling of one NFD cluster: fully precomposed if possible,
    else base letter merged with one mark (e.g. ê) plus remaining tone marks."""
    whole = unicodedata.normalize("NFC", cluster)
    if len(whole) == 1 and _encodable(whole):
        return whole
    base, marks = cluster[0], list(cluster[1:])
    for mark in marks:
        candidate = unicodedata.normalize("NFC", base + mark)
        if len(candidate) == 1 and _encodable(candidate):
            marks.remove(mark)
            return candidate + "".join(marks)
    return cluster


def to_cp1258_form(text: str) -> str:
    """``text`` rewritten with only characters windows-1258 can represent
    (where possible), without encoding it."""
    return "".join(_compose(c) for c in _clusters(unicodedata.normalize("NFD", text)))


def encode_cp1258(text: str, errors: str = "strict") -> bytes:
    """Encode Vietnamese ``text`` as windows-1258 bytes.

    ``encode_cp1258(t).decode("cp1258")`` normalised to NFC equals ``t``
    normalised to NFC.  ``errors`` is passed to :meth:`str.encode` for
    characters outside the code page (e.g. ``"xmlcharrefreplace"`` for HTML).
    """
    return to_cp1258_form(text).encode("cp1258", errors)


def decode_cp1258(data: bytes) -> str:
    """Decode windows-1258 bytes to NFC text."""
    return unicodedata.normalize("NFC", data.decode("cp1258"))
