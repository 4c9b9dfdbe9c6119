"""The seeds' text format and file naming."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from storage.textfiles import TEXT_FILE_PATTERN, format_text, text_file_name, write_text_file

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def test_format_is_title_blank_line_paragraphs_final_newline() -> None:
    text = format_text("Tiêu đề", ["VOV.VN - Sapo.", "  Đoạn   một\u00a0có  khoảng trắng. ", "", "Hai."])
    assert text == "Tiêu đề\n\nVOV.VN - Sapo.\n\nĐoạn một có khoảng trắng.\n\nHai.\n"


def test_format_normalises_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Nga và Ukraine đàm phán")
    text = format_text(decomposed, [decomposed])
    assert text == unicodedata.normalize("NFC", text) and "đàm phán" in text


def test_a_page_without_a_title_keeps_the_layout_with_an_empty_first_line() -> None:
    assert format_text("   ", ["body", "more"]) == "\n\nbody\n\nmore\n"


def test_file_names_follow_the_rule() -> None:
    name = text_file_name(7, "https://vov.vn/the-gioi/a-post1.vov")
    assert name.startswith("007_") and TEXT_FILE_PATTERN.fullmatch(name)
    assert name == text_file_name(7, "https://vov.vn/the-gioi/a-post1.vov")
    assert name != text_file_name(7, "https://vov.vn/the-gioi/b-post2.vov")
    assert TEXT_FILE_PATTERN.fullmatch(text_file_name(12345, "u")).group().startswith("12345_")


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    name = text_file_name(0, "u")
    write_text_file(tmp_path, name, "A\n\nfirst\n")
    write_text_file(tmp_path, name, "A\n\nsecond\n")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_bytes() == b"A\n\nsecond\n"


def test_bad_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NNN_"):
        write_text_file(tmp_path, "../escape.txt", "x\n")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds is not beside this checkout")
def test_seed_files_match_the_name_pattern_and_layout() -> None:
    for seed in SEEDS.glob("*.txt"):
        assert TEXT_FILE_PATTERN.fullmatch(seed.name)
        lines = seed.read_text(encoding="utf-8").split("\n")
        assert lines[0] and lines[1] == ""
