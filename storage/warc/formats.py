"""What an archive file is, and the normal forms of the values other tools spell differently.

Why this module exists: files from other tools (wget, wpull, Heritrix, warcprox, Webrecorder,
ArchiveWeb.page, Browsertrix, pywb) cannot be recognised by their names (`.warc` files that
are gzip, WACZ zips, ARC files), and they spell the same facts in several ways: payload
digests as `sha1:BASE32`, `sha256:hex` or `sha-256:hex`; record ids longer than the catalogue
column; dates with or without seconds. Everything here is a pure function of bytes or strings.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from storage.dates import DateRefused, parse_date, read_date
from storage.warc.decoding import GZIP_MAGIC
from storage.warc.exchange import warc_digest  # our own payload digest, for records that carry none

__all__ = [
    "Sniffed",
    "arc_record_id",
    "normalize_digest",
    "normalize_record_id",
    "parse_arc_date",
    "parse_warc_date",
    "read_arc_date",
    "read_warc_date",
    "warc_digest",
    "sniff",
    "sniff_bytes",
]

ZIP_MAGIC = b"PK\x03\x04"
WARC_MAGIC = b"WARC/"
ARC_MAGIC = b"filedesc://"
RECORD_ID_MAX = 64  # captures.warc_record_id
DIGEST_MAX = 64  # captures.payload_digest
_DIGEST_SIZES = {"sha1": 20, "sha256": 32, "sha512": 64, "md5": 16}
_RECORD_ID_NAMESPACE = uuid.UUID("6f1f2c1e-3a4b-5c6d-8e9f-0a1b2c3d4e5f")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the first bytes say a file is."""

    kind: str | None
    """``warc``, ``arc``, ``wacz`` or None (not an archive)."""
    gzip: bool = False

    @property
    def label(self) -> str:
        if self.kind is None:
            return "not an archive"
        return self.kind + (" (gzip)" if self.gzip else "")


def sniff(path: Path, offset: int = 0) -> Sniffed:
    """Look at the bytes, never the name: `.warc` files are often gzip, `.gz` ones sometimes not."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        return sniff_bytes(handle.read(4096))


def sniff_bytes(head: bytes) -> Sniffed:
    if head.startswith(ZIP_MAGIC):
        return Sniffed("wacz")
    if head.startswith(GZIP_MAGIC):
        try:
            inner = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return Sniffed(None, gzip=True)
        kind = _plain_kind(inner.lstrip(b"\r\n"))
        return Sniffed(kind, gzip=True) if kind else Sniffed(None, gzip=True)
    return Sniffed(_plain_kind(head.lstrip(b"\r\n")))


def _plain_kind(head: bytes) -> str | None:
    if head.startswith(WARC_MAGIC):
        return "warc"
    if head.startswith(ARC_MAGIC):
        return "arc"
    return None


# ---- digests ------------------------------------------------------------------------------


def normalize_digest(value: str | None) -> str | None:
    """``algorithm:BASE32`` (lower-case algorithm without dashes, upper-case base32, no padding).

    ArchiveWeb.page writes ``sha256:<hex>`` on responses and ``sha-256:<hex>`` on their
    revisits; others write base32 or base64. One form makes a revisit find its original by
    an index lookup. Values that cannot be decoded are kept as they are (if they fit).
    """
    if not value or ":" not in value:
        return None
    algorithm, _, encoded = value.strip().partition(":")
    algorithm = algorithm.lower().replace("-", "")
    raw = _digest_bytes(algorithm, encoded.strip())
    if raw is None:
        kept = f"{algorithm}:{encoded.strip()}"
        return kept if len(kept) <= DIGEST_MAX and _PRINTABLE_ASCII.fullmatch(kept) else None
    normal = f"{algorithm}:{base64.b32encode(raw).decode('ascii').rstrip('=')}"
    return normal if len(normal) <= DIGEST_MAX else None


def _digest_bytes(algorithm: str, encoded: str) -> bytes | None:
    size = _DIGEST_SIZES.get(algorithm)
    if size is None or not encoded:
        return None
    decoders = (
        lambda s: bytes.fromhex(s),
        lambda s: base64.b32decode(s.upper() + "=" * (-len(s) % 8)),
        lambda s: base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_" if "-" in s or "_" in s else None),
    )
    for decode in decoders:
        try:
            raw = decode(encoded)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == size:
            return raw
    return None


# ---- record ids ----------------------------------------------------------------------------


def normalize_record_id(value: str | None) -> str | None:
    """The id as written, or a stable ``<urn:uuid:...>`` derived from it when it is too long
    for the catalogue column or holds what a text column cannot (NUL, control characters,
    spaces): the same input always maps to the same id, so a revisit's WARC-Refers-To
    still finds its original."""
    if not value or not value.strip():
        return None
    value = value.strip()
    if len(value) <= RECORD_ID_MAX and value.isprintable() and " " not in value:
        return value
    return f"<urn:uuid:{uuid.uuid5(_RECORD_ID_NAMESPACE, value)}>"


def arc_record_id(file_sha256: str, offset: int) -> str:
    """ARC records have no id: derive one from the file's content and the record's place, so
    importing the same file (even from another path) gives the same ids."""
    return f"<urn:uuid:{uuid.uuid5(_RECORD_ID_NAMESPACE, f'arc:{file_sha256}:{offset}')}>"


# ---- dates -----------------------------------------------------------------------------------

_ARC_DATE = re.compile(r"\d{14}")


def read_warc_date(value: str | None) -> datetime | None:
    """WARC-Date by the project's one date rule (storage.dates), UTC when it has no zone;
    None when absent; DateRefused (with why) when unreadable or out of range."""
    return read_date(value, UTC)


def read_arc_date(value: str | None) -> datetime | None:
    """ARC dates are 14 digits (YYYYMMDDhhmmss, UTC); longer ones are cut, others refused."""
    if not value or not value.strip():
        return None
    match = _ARC_DATE.match(value.strip())
    if match is None:
        raise DateRefused(f"unreadable ARC date {value.strip()[:40]!r} (14 digits are read)")
    digits = match.group(0)
    iso = f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}T{digits[8:10]}:{digits[10:12]}:{digits[12:]}"
    return read_date(iso, UTC)


def parse_warc_date(value: str | None) -> datetime | None:
    """read_warc_date for readers that only need the value: None for anything refused."""
    return parse_date(value, UTC)


def parse_arc_date(value: str) -> datetime | None:
    try:
        return read_arc_date(value)
    except DateRefused:
        return None
