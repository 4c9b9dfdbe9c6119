"""The `vov` profile on a real vov.vn article page (../shared/data/vov-real): exactly its text.

The page is a third party's copy (see the folder's README.local.md); it is read from the shared
folder, never copied into the project. A guard for changes to the extractor or the profile:
the real markup writes the lead as `div.row.article-summary > div.col > h2 > div` and embeds
a related-article box with its own "VOV.VN - ..." summary inside the body.
"""

from __future__ import annotations

import pytest

from crawler.extraction.article import extract_article
from crawler.profiles import load_profiles
from settings import project
from tests.conftest import SHARED_DATA

VOV_REAL = SHARED_DATA / "vov-real"
PAGE = VOV_REAL / "article-post1315698.html"
TEXT = VOV_REAL / "article-post1315698.txt"

pytestmark = pytest.mark.skipif(
    not (PAGE.is_file() and TEXT.is_file()),
    reason=f"the real vov.vn page is not at {VOV_REAL} (../shared/data beside this checkout)",
)


def test_the_real_vov_page_gives_exactly_its_text() -> None:
    hints = load_profiles(project.PROFILES_DIR)["vov"].extract
    result = extract_article(PAGE.read_bytes(), content_type="text/html; charset=utf-8", hints=hints,
                             max_bytes=project.EXTRACT_MAX_BYTES)
    assert result.failure is None, result.failure
    assert result.article is not None
    assert result.article.text == TEXT.read_text(encoding="utf-8")
    assert result.article.title == "Argentina đối diện án phạt từ FIFA sau khi vào chung kết World Cup 2026"
    assert result.article.paragraphs[0].startswith("VOV.VN - Argentina đối diện với án phạt")
