"""What goes into the archive and what comes back out, as plain values.

Why this module exists: the crawler, the writer, the readers and the catalogue all pass
the same few things around (an HTTP exchange to archive, the pointer to its record, a
revisit to write instead of a payload, a record read back) and name records by the same
digests and ids. Keeping them here, apart from how they are written or read, lets each of
those import them without importing each other. No Scrapy types: the crawler converts
its objects into :class:`HttpExchange`.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from warcio.statusandheaders import StatusAndHeaders

from storage.warc.decoding import DecodeError

__all__ = [
    "OPEN_SUFFIX",
    "REVISIT_PROFILES",
    "ArchivedResponse",
    "HttpExchange",
    "Revisit",
    "WarcPointer",
    "WarcReadError",
    "new_record_id",
    "warc_digest",
]

OPEN_SUFFIX = ".open"
"""Added to a WARC file's name while it is written: a reader never takes it for a finished one."""

REVISIT_PROFILES = {
    "identical-payload-digest": "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
    "server-not-modified": "http://netpreserve.org/warc/1.1/revisit/server-not-modified",
}


@dataclass(frozen=True, slots=True)
class HttpExchange:
    """One HTTP request/response as seen by the crawler (no Scrapy types)."""

    url: str
    method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    protocol: str
    status: int
    response_headers: list[tuple[str, str]]
    """As sent by the server, in order, duplicates kept (Set-Cookie)."""
    response_body: bytes
    """As sent: still Content-Encoded (gzip/br), but already de-chunked."""
    fetched_at: datetime
    """Timezone-aware; written as UTC."""
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class WarcPointer:
    """Where a response record lives, so it can be read back without scanning."""

    warc_file: str
    """File name relative to the WARC directory, final name (no ``.open``)."""
    offset: int
    """Offset of the response record's gzip member."""
    length: int
    """Length in bytes of that gzip member."""
    record_id: str
    payload_digest: str
    block_digest: str


@dataclass(frozen=True, slots=True)
class Revisit:
    """Write the response as a revisit record that refers to an earlier capture's payload."""

    profile: str  # a key of REVISIT_PROFILES
    refers_to_record_id: str
    refers_to_uri: str
    refers_to_date: datetime
    payload_digest: str  # the earlier payload's digest, which this response repeats

    def __post_init__(self) -> None:
        if self.profile not in REVISIT_PROFILES:
            raise ValueError(f"unknown revisit profile {self.profile!r}: {sorted(REVISIT_PROFILES)}")


@dataclass(frozen=True, slots=True)
class ArchivedResponse:
    """One record read back from a WARC file by `storage.warc.reader.read_capture`."""

    warc_file: str
    offset: int
    length: int
    record_type: str
    record_id: str
    target_uri: str | None
    date: datetime | None
    warc_headers: StatusAndHeaders
    http_headers: StatusAndHeaders | None
    status: int | None
    payload: bytes
    """HTTP body as stored (still Content-Encoded)."""
    decoded_payload: bytes
    """Body with Content-Encoding removed; equals ``payload`` if decoding failed."""
    decode_error: DecodeError | None = None
    """Why decoding failed: corrupt data, or `TooLarge` past the reader's decode limit."""

    @property
    def payload_digest(self) -> str | None:
        return self.warc_headers.get_header("WARC-Payload-Digest")

    @property
    def block_digest(self) -> str | None:
        return self.warc_headers.get_header("WARC-Block-Digest")


class WarcReadError(Exception):
    """The bytes at a pointer are not exactly one intact WARC record."""

    def __init__(self, warc_file: str, offset: int, reason: str) -> None:
        super().__init__(f"{warc_file} at offset {offset}: {reason}")
        self.warc_file = warc_file
        self.offset = offset
        self.reason = reason


def warc_digest(payload: bytes) -> str:
    """A WARC digest (`sha1:` + base32), as WARC-Payload-Digest and WARC-Block-Digest use."""
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")


def new_record_id() -> str:
    """A fresh ``<urn:uuid:...>`` WARC-Record-ID."""
    return f"<urn:uuid:{uuid.uuid4()}>"
