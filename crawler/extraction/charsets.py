"""Page bytes to text: what the page declares first, then the least harmful repair.

Valid UTF-8 wins over any declaration (a mis-declared charset is far more common than
Vietnamese text in another encoding that is also valid UTF-8); then the HTTP charset, then
the <meta> charset. Real pages also break their own declaration: a UTF-8 page with a few
Latin-1 bytes pasted in (an image's alt text, a cookie banner), or a Latin-1 page that
says nothing at all. Such a page is still an article: a page that is UTF-8 but for a few
bytes (no more than its valid UTF-8 characters) keeps UTF-8, those bytes becoming U+FFFD;
otherwise the encoding is guessed (charset_normalizer, among the legacy encodings of the
web). Either way the repair is
recorded as a problem, never hidden. Text is NFC at once, because windows-1258 and older
Vietnamese pages write tone marks as combining characters: selectors, patterns and
metadata then all see the same composed text.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

import charset_normalizer
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, resolve_encoding

# A page keeps UTF-8 when it has at least as many valid non-ASCII characters as invalid
# bytes: a page in a legacy encoding has next to no valid UTF-8 sequences at all, while a
# mostly-ASCII UTF-8 page may have one "é" and one stray byte.
UTF8_MAJORITY = 1
# Encodings a page without a usable declaration is guessed among (legacy web encodings; a
# free guess among every codec picks exotic ones such as mac_iceland for short texts).
LEGACY_ENCODINGS = (
    "cp1252", "cp1258", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "iso8859_2", "iso8859_15", "koi8_r", "cp874", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr",
)
REPLACEMENT = "\ufffd"
# What a page may declare: the encodings of the WHATWG Encoding Standard (Python's names for
# them), not any codec Python has ("unicode_escape", "rot13", "undefined").
WEB_CODECS = frozenset(codecs.lookup(name).name for name in (
    "utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "ascii", "latin-1", "cp866", "iso8859-2",
    "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6", "iso8859-7", "iso8859-8", "iso8859-10",
    "iso8859-13", "iso8859-14", "iso8859-15", "iso8859-16", "koi8-r", "koi8-u", "mac-roman",
    "mac-cyrillic", "cp874", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254", "cp1255", "cp1256",
    "cp1257", "cp1258", "gbk", "gb18030", "big5", "big5hkscs", "euc-jp", "iso2022-jp", "shift-jis",
    "euc-kr",
))


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    problem: str | None = None  # how the text was repaired, when it was


class Undecodable(ValueError):
    """Bytes that no declared, repaired or guessed encoding turns into text."""


def decode(body: bytes, content_type: str | None) -> Decoded:
    declared = http_content_type_encoding(content_type) if content_type else None
    meta = html_body_declared_encoding(body)
    for encoding in ("utf-8-sig", declared, meta):
        codec = resolve_encoding(encoding) if encoding else None
        if codec is None or _lookup(codec) not in WEB_CODECS:  # not "unicode_escape", "undefined"
            continue
        try:
            return Decoded(_nfc(body.decode(codec)))
        except (UnicodeError, LookupError):
            continue
    said = f"not valid UTF-8, nor HTTP charset {declared!r}, nor meta {meta!r}"
    text = body.decode("utf-8", errors="replace")
    replaced = text.count(REPLACEMENT)
    stray = replaced - body.count(REPLACEMENT.encode())
    valid_non_ascii = len(text) - len(text.encode("ascii", "ignore")) - replaced
    if valid_non_ascii >= UTF8_MAJORITY * stray and valid_non_ascii > 0:
        return Decoded(_nfc(text), f"{said}: UTF-8 but for {stray} bytes, replaced by U+FFFD")
    guess = charset_normalizer.from_bytes(body, cp_isolation=list(LEGACY_ENCODINGS)).best()
    if guess is None:
        raise Undecodable(said)
    return Decoded(_nfc(str(guess)), f"{said}: decoded as {guess.encoding}, a guess")


def _lookup(codec: str) -> str | None:
    try:
        return codecs.lookup(codec).name
    except LookupError:
        return None


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
