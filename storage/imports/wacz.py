"""The WARC files inside a WACZ (Webrecorder's zip of WARCs, indexes and page lists).

Why this module exists: the WACZ spec stores the WARCs under `archive/` without zip
compression (ZIP_STORED), so their bytes lie unchanged inside the .wacz and every record
can be pointed at by an offset into the .wacz itself: nothing is copied. A WACZ that
compressed its WARCs anyway (against the spec) has them extracted into the archive
folder instead, where they can be read by offset.

A zip is untrusted input: an entry's name may climb out of the folder (`archive/..`,
`../x`, absolute names) and its data may be a zip bomb. Such names are refused (never
used as paths); extraction looks at the first bytes (not a WARC or ARC: nothing is
written), stops past `Extraction.max_bytes` (`too_large`) or when the output outgrows the
compressed data beyond belief (`decompression_bomb`), and a refused or failed entry
leaves nothing on disk.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from storage.warc.formats import sniff_bytes
from storage.warc.sources import Inflation

__all__ = ["EntryRefused", "Extraction", "WaczError", "WaczMember", "extract_member",
           "warc_members"]

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # zip local file header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"
_PREFIX = "archive/"
_SLICE = 1 << 20


class WaczError(Exception):
    """A .wacz that is not a usable zip of WARCs."""


class EntryRefused(Exception):
    """One entry that is not imported; `code` names why (see storage.warc.scanner.ScanProblem)."""

    def __init__(self, name: str, reason: str, code: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class Extraction:
    """What extracting one entry may produce at most."""

    max_bytes: int = 8 << 30
    inflation: Inflation = Inflation()


@dataclass(frozen=True, slots=True)
class WaczMember:
    name: str
    size: int
    data_offset: int | None
    """Where the member's bytes start in the .wacz when stored uncompressed; else None."""
    compressed_size: int = 0
    relative: str = ""
    """The name under `archive/`, checked safe to use as a relative path (made unique: a
    zip may hold two entries of the same name, and both are imported)."""
    header_offset: int = 0
    """Where the entry's local header starts: what tells two entries of one name apart."""


def warc_members(path: Path) -> tuple[list[WaczMember], list[EntryRefused]]:
    """The entries under `archive/`, in zip order, and those refused for their names."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist()
                     if info.filename.startswith(_PREFIX) and not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise WaczError(f"not a readable zip file: {error}") from None
    if not infos:
        raise WaczError("no WARC files under archive/ (is this a WACZ?)")
    members, refused, taken = [], [], set()
    with open(path, "rb") as handle:
        for info in infos:
            relative = safe_relative_name(info.filename[len(_PREFIX):])
            if relative is None:
                refused.append(EntryRefused(info.filename, "unsafe entry name (it could write "
                                            "outside its folder): not imported", "unsafe_name"))
                continue
            if relative in taken:  # the same name again: a name of its own, by its place
                relative = f"{relative}.entry-{info.header_offset}"
            taken.add(relative)
            members.append(WaczMember(info.filename, info.file_size, _data_offset(handle, info),
                                      info.compress_size, relative, info.header_offset))
    return members, refused


def safe_relative_name(name: str) -> str | None:
    """`name` as a relative path that stays inside its folder, or None."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    parts = PurePosixPath(name).parts
    if not parts or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    if any(len(part.encode("utf-8", "surrogatepass")) > 200 for part in parts):
        return None
    return "/".join(parts)


def _data_offset(handle: BinaryIO, info: zipfile.ZipInfo) -> int | None:
    """The member's bytes start after its local header (whose extra field may differ from
    the central directory's, so it is read, not assumed)."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:  # compressed or encrypted
        return None
    handle.seek(info.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or not header.startswith(_LOCAL_MAGIC):
        raise WaczError(f"{info.filename}: damaged zip entry")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def extract_member(path: Path, member: WaczMember, target: Path, limits: Extraction) -> Path:
    """Copy a compressed member out (atomically, via `.part`), for WACZ files that deflated
    their WARCs; EntryRefused (nothing written) for what is not a WARC or too much."""
    if member.size > limits.max_bytes:
        raise EntryRefused(member.name, f"{member.size:,} bytes once extracted, over "
                           f"{limits.max_bytes:,} (IMPORT_MAX_EXTRACTED_BYTES)", "too_large")
    partial = target.with_name(target.name + ".part")
    try:
        with zipfile.ZipFile(path) as archive, archive.open(_info(archive, member)) as source:
            head = source.read(4096)
            if sniff_bytes(head).kind not in ("warc", "arc"):
                raise EntryRefused(member.name, "not a WARC or ARC file: skipped", "not_archive")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(partial, "wb") as out:
                _copy(head, source, out, member, limits)
        partial.replace(target)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        partial.unlink(missing_ok=True)
        raise EntryRefused(member.name, f"cannot be extracted: {error}", "bad_entry") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _info(archive: zipfile.ZipFile, member: WaczMember) -> zipfile.ZipInfo:
    """The entry itself, not the last of its name (what ZipFile.open(name) would give)."""
    return next(info for info in archive.infolist() if info.header_offset == member.header_offset)


def _copy(head: bytes, source: BinaryIO, out: BinaryIO, member: WaczMember, limits: Extraction) -> None:
    written, chunk = 0, head
    while chunk:
        written += len(chunk)
        if written > limits.max_bytes:
            raise EntryRefused(member.name, f"over {limits.max_bytes:,} bytes once "
                               "extracted (IMPORT_MAX_EXTRACTED_BYTES): not extracted", "too_large")
        if limits.inflation.is_bomb(written, member.compressed_size):
            raise EntryRefused(member.name, f"inflates to over {written:,} "
                               f"bytes from {member.compressed_size:,}: not extracted",
                               "decompression_bomb")
        out.write(chunk)
        chunk = source.read(_SLICE)
