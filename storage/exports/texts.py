"""The text of one extracted version, read from its text file and checked against the
version's `text_sha1`: a file holds its URL's newest text only, and a file that is missing,
unreadable or holds another text gives no text and the reason, never a wrong text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.textfiles import text_sha1_of

__all__ = ["NoText", "read_version_text"]


@dataclass(frozen=True, slots=True)
class NoText:
    """Why a record has no text: a short kind (counted in the summary) and the detail."""

    kind: str
    detail: str


def read_version_text(text_dir: Path, text_path: str, text_sha1: str) -> str | NoText:
    path = text_dir / text_path
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return NoText("missing_file", f"text file {text_path} is missing from {text_dir}")
    except (OSError, UnicodeDecodeError) as error:
        return NoText("unreadable_file", f"text file {text_path} cannot be read: {error}")
    if text_sha1_of(text) != text_sha1:
        return NoText("other_text", f"text file {text_path} holds another text "
                                    f"(sha1 {text_sha1_of(text)}, this version's is {text_sha1})")
    return text
