"""The plain-text output format and its file names (the format of the seeds).

A text file is UTF-8 (NFC): the title on the first line, a blank line, then
paragraphs separated by single blank lines, and a final newline. A page that states no
title anywhere keeps its text with an empty first line (the catalogue's
`metadata_problems` says why), so the layout stays the same for every reader.

File names are `NNN_<16 hex>.txt`: NNN is the article's sequence number in the
catalogue (zero-padded to at least 3 digits, assigned when the URL is first
extracted) and the hex digits are the first 16 of the SHA-256 of the canonical
URL. Both stay the same across runs and re-extraction, so a better extractor
overwrites the same file while the catalogue keeps every version.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TEXT_FILE_PATTERN = re.compile(r"\d{3,}_[0-9a-f]{16}\.txt")


def text_sha1_of(text: str) -> str:
    """The `documents.text_sha1` of a text: SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def url_hash(canonical_url: str) -> str:
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]


def text_file_name(sequence: int, canonical_url: str) -> str:
    if sequence < 0:
        raise ValueError(f"sequence number must be >= 0, got {sequence}")
    return f"{sequence:03d}_{url_hash(canonical_url)}.txt"


def format_text(title: str, paragraphs: Iterable[str]) -> str:
    """Title, blank line, paragraphs separated by one blank line, final newline (NFC)."""
    blocks = [_one_line(title)] + [p for p in (_one_line(p) for p in paragraphs) if p]
    return unicodedata.normalize("NFC", "\n\n".join(blocks) + "\n")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def write_text_file(directory: Path, name: str, text: str) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a file."""
    if not TEXT_FILE_PATTERN.fullmatch(name):
        raise ValueError(f"not a text file name of the form NNN_<16 hex>.txt: {name!r}")
    target = directory / name
    # one writer per name and process: the pid keeps processes sharing a folder apart
    temporary = directory / f".{name}.{os.getpid()}.tmp"
    try:
        temporary.write_bytes(text.encode("utf-8"))
        os.replace(temporary, target)
    except FileNotFoundError:
        if directory.is_dir():
            raise
        directory.mkdir(parents=True, exist_ok=True)
        return write_text_file(directory, name, text)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True, slots=True)
class NoText:
    """Why a record has no text: a short kind (counted in the summary) and the detail."""

    kind: str
    detail: str


def read_checked_text(text_dir: Path, text_path: str, text_sha1: str) -> str | NoText:
    """The text of one extracted version, read from its text file and checked against its
    `documents.text_sha1`: a file holds its URL's newest text only, and a file that is missing,
    unreadable or holds another text gives no text and the reason, never a wrong text."""
    return checked_text(read_text_file(text_dir, text_path), text_path, text_sha1)


@dataclass(frozen=True, slots=True)
class TextFile:
    """A text file as read, with its text's sha1 (one read serves every version of its URL)."""

    text: str
    sha1: str


def read_text_file(text_dir: Path, text_path: str) -> TextFile | NoText:
    try:
        text = (text_dir / text_path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        return NoText("missing_file", f"text file {text_path} is missing from {text_dir}")
    except (OSError, UnicodeDecodeError) as error:
        return NoText("unreadable_file", f"text file {text_path} cannot be read: {error}")
    return TextFile(text, text_sha1_of(text))


def checked_text(found: TextFile | NoText, text_path: str, text_sha1: str) -> str | NoText:
    """The file's text if it is this version's (`text_sha1`), else why not."""
    if isinstance(found, NoText):
        return found
    if found.sha1 != text_sha1:
        return NoText("other_text", f"text file {text_path} holds another text "
                                    f"(sha1 {found.sha1}, this version's is {text_sha1})")
    return found.text
