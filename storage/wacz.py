"""The WARC files inside a WACZ (Webrecorder's zip of WARCs, indexes and page lists).

Why this module exists: the WACZ spec stores the WARCs under `archive/` without zip
compression (ZIP_STORED), so their bytes lie unchanged inside the .wacz and every record
can be pointed at by an offset into the .wacz itself: nothing is copied. A WACZ that
compressed its WARCs anyway (against the spec) has them extracted into the archive
folder instead, where they can be read by offset.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WaczError", "WaczMember", "extract_member", "warc_members"]

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # zip local file header, 30 bytes
_LOCAL_MAGIC = b"PK\x03\x04"


class WaczError(Exception):
    """A .wacz that is not a usable zip of WARCs."""


@dataclass(frozen=True, slots=True)
class WaczMember:
    name: str
    size: int
    data_offset: int | None
    """Where the member's bytes start in the .wacz when stored uncompressed; else None."""


def warc_members(path: Path) -> list[WaczMember]:
    """The WARC files under `archive/`, in zip order."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = [info for info in archive.infolist()
                     if info.filename.startswith("archive/") and not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise WaczError(f"not a readable zip file: {error}") from None
    if not infos:
        raise WaczError("no WARC files under archive/ (is this a WACZ?)")
    with open(path, "rb") as handle:
        return [WaczMember(info.filename, info.file_size, _data_offset(handle, info)) for info in infos]


def _data_offset(handle, info: zipfile.ZipInfo) -> int | None:  # type: ignore[no-untyped-def]
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


def extract_member(path: Path, member: WaczMember, target: Path) -> Path:
    """Copy a compressed member out (atomically), for WACZ files that deflated their WARCs."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(path) as archive, archive.open(member.name) as source, \
            open(partial, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    partial.replace(target)
    return target
