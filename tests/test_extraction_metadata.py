"""Article metadata: read from the page as it states it, refused with a reason, never guessed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crawler.extraction.article import ArticleText, extract_article
from crawler.extraction.metadata import PageMetadata
from crawler.profiles import ExtractHints, ProfileError, SiteProfile, load_profiles
from settings import project
from storage.catalogue import repository
from storage.catalogue.db import open_catalogue
from storage.catalogue.models import Document
from storage.catalogue.repository import NewCapture, NewDocument

VOV: ExtractHints = load_profiles(project.PROFILES_DIR)["vov"].extract
FETCHED = datetime(2024, 5, 20, tzinfo=UTC)
BODY = ("<p>Các quan chức hai nước đã gặp nhau tại Istanbul hôm nay để bàn về hòa bình.</p>"
        "<p>Vòng đàm phán tiếp theo dự kiến diễn ra vào tháng sau tại một nước trung gian.</p>")


def page(head: str = "", *, body: str = BODY, extra: str = "", lang: str = "vi") -> bytes:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>T | VOV.VN</title>'
            f"{head}</head><body>"
            '<nav class="breadcrumb"><a href="/">Trang chủ</a> › <a href="/the-gioi">Thế giới</a></nav>'
            '<div class="article-title"><h1>Đàm phán hòa bình</h1></div>'
            '<div class="article-summary">VOV.VN - Hai bên nhất trí tiếp tục đàm phán.</div>'
            f'<div class="article-content"><div class="text-long">{body}{extra}</div>'
            '<div class="article-tags">Từ khóa: <a href="/t1">Ngoại giao</a>, <a href="/t2">Hòa bình</a>'
            "</div></div></body></html>").encode()


def json_ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


def metadata(body: bytes, hints: ExtractHints = VOV) -> PageMetadata:
    result = extract_article(body, content_type="text/html", hints=hints, max_bytes=10**6)
    assert result.article is not None, result.failure
    return result.article.metadata


def test_a_vov_style_page_gives_every_field() -> None:
    head = ('<meta property="article:published_time" content="2024-05-14T08:30:00+07:00">'
            '<meta property="article:modified_time" content="2024-05-14T10:00:00+07:00">'
            '<link rel="canonical" href="https://vov.vn/the-gioi/dam-phan-post1.vov">'
            + json_ld({"@context": "https://schema.org", "@type": "NewsArticle",
                       "author": {"@type": "Person", "name": "Thu Hằng"}}))
    figures = ('<figure class="image"><img src="a.jpg"><figcaption>Ảnh: VOV</figcaption></figure>'
               '<table class="image"><tr><td><img src="b.jpg"></td></tr></table>')
    found = metadata(page(head, extra=figures))
    assert found == PageMetadata(
        headline="Đàm phán hòa bình", published_at=datetime(2024, 5, 14, 1, 30, tzinfo=UTC),
        modified_at=datetime(2024, 5, 14, 3, 0, tzinfo=UTC), author="Thu Hằng", section="Thế giới",
        tags=("Ngoại giao", "Hòa bình"), language="vi",
        canonical_url="https://vov.vn/the-gioi/dam-phan-post1.vov", image_count=2, problems={},
    )


def test_fields_a_page_does_not_state_stay_empty_without_a_problem() -> None:
    found = metadata(page(lang=""), ExtractHints(title=("h1",)))
    assert (found.published_at, found.modified_at, found.author, found.section, found.language,
            found.canonical_url, found.tags, found.problems) == (None, None, None, None, None, None, (), {})


def test_dates_without_a_zone_use_the_profile_timezone_or_are_refused() -> None:
    head = '<meta property="article:published_time" content="2024-05-14T08:30:00">'
    assert metadata(page(head)).published_at == datetime(2024, 5, 14, 1, 30, tzinfo=UTC)  # +07:00
    refused = metadata(page(head), replace(VOV, timezone=""))
    assert refused.published_at is None
    assert "no time zone" in refused.problems["published_at"]


def test_an_unreadable_date_is_refused_with_the_reason_and_the_next_source_used() -> None:
    head = '<meta property="article:modified_time" content="Thứ Ba, 14/05/2024 10:00">'
    refused = metadata(page(head))
    assert refused.modified_at is None
    assert refused.problems == {"modified_at": "unreadable date 'Thứ Ba, 14/05/2024 10:00' "
                                               "(ISO 8601 and RFC 822 are read)"}
    fallback = metadata(page(head + json_ld({"@type": "NewsArticle", "dateModified": "2024-05-14T03:00Z"})))
    assert fallback.modified_at == datetime(2024, 5, 14, 3, 0, tzinfo=UTC) and not fallback.problems


def test_dates_after_the_capture_are_refused_when_filed() -> None:
    article = ArticleText("T", ("p",), PageMetadata(published_at=datetime(2024, 5, 14, tzinfo=UTC),
                                                modified_at=datetime(2024, 6, 1, tzinfo=UTC)))
    assert article.modified_before(FETCHED) is None and article.published_before(FETCHED) is not None
    fields = article.document_fields(FETCHED)
    assert fields["published_at"] == datetime(2024, 5, 14, tzinfo=UTC)
    assert fields["modified_at"] is None
    assert "after the capture" in fields["metadata_problems"]["modified_at"]


def test_json_ld_graphs_lists_and_og_tags_are_read() -> None:
    head = ('<meta property="og:locale" content="en_US"><meta property="og:url" content="https://x.test/a">'
            '<meta property="article:author" content="https://x.test/authors/jane">'
            + json_ld({"@graph": [
                {"@type": "WebSite", "name": "X"},
                {"@type": ["NewsArticle"], "datePublished": "Tue, 14 May 2024 08:30:00 GMT",
                 "author": [{"@type": "Person", "name": "Jane Roe"}], "articleSection": ["World"],
                 "keywords": "peace, talks, peace"},
            ]}))
    found = metadata(page(head, lang=""), ExtractHints())
    assert (found.published_at, found.author, found.section, found.tags, found.language,
            found.canonical_url) == (datetime(2024, 5, 14, 8, 30, tzinfo=UTC), "Jane Roe", "World",
                                     ("peace", "talks"), "en-US", "https://x.test/a")
    assert not found.problems  # the author URL was refused, but JSON-LD gave a name


def test_refused_values_say_why() -> None:
    head = ('<link rel="canonical" href="/the-gioi/dam-phan-post1.vov">'
            '<meta name="author" content="https://vov.vn/tac-gia/1">')
    found = metadata(page(head))
    assert found.canonical_url is None and found.author is None
    assert found.problems == {
        "canonical_url": "canonical URL is not absolute: '/the-gioi/dam-phan-post1.vov'",
        "author": "author is a URL, not a name: 'https://vov.vn/tac-gia/1'",
    }


def test_generic_pages_count_the_images_trafilatura_keeps() -> None:
    body = BODY + '<p><img src="https://x.test/1.jpg" alt="a"></p>' + BODY.replace("hôm nay", "hôm qua")
    found = metadata(page(body=body), ExtractHints())
    assert found.image_count == 1


def test_a_bad_timezone_in_a_profile_is_refused() -> None:
    with pytest.raises(ProfileError, match="timezone"):
        SiteProfile.from_dict({"name": "x", "origin": "https://x.test", "hosts": ["x.test"],
                               "extract": {"timezone": "Mars/Olympus"}})


def test_metadata_round_trips_through_the_catalogue(catalogue_url: str) -> None:
    sessions = open_catalogue(catalogue_url)
    article = ArticleText("T", ("p",), PageMetadata(
        published_at=datetime(2024, 5, 14, 1, 30, tzinfo=UTC), author="Thu Hằng", section="Thế giới",
        tags=("Ngoại giao", "Hòa bình"), language="vi", canonical_url="https://vov.vn/a-post1.vov",
        image_count=2, problems={"modified_at": "unreadable date 'x'"}))
    with sessions.begin() as session:
        [capture_id] = repository.insert_captures(session, [NewCapture(
            url="https://vov.vn/a-post1.vov", warc_type="response", status=200, fetched_at=FETCHED,
            content_type="text/html", payload_digest="sha1:x", payload_length=1, warc_file="a.warc.gz",
            warc_offset=0, warc_length=1, warc_record_id="<urn:uuid:1>")]).values()
        plain = NewDocument(url="https://vov.vn/a-post1.vov", title="T", published_at=None,
                            text_path="000_0000000000000000.txt", text_sha1="0" * 40,
                            extractor_version="v", extracted_at=FETCHED, capture_id=capture_id)
        repository.insert_documents(session, [
            replace(plain, **article.document_fields(FETCHED)),
            plain,
        ])
    with sessions() as session:
        document, bare = session.scalars(select(Document).order_by(Document.id)).all()
        assert (bare.tags, bare.metadata_problems) == (None, None)
        nulls = select(func.count()).where(Document.tags.is_(None), Document.metadata_problems.is_(None))
        assert session.scalar(nulls) == 1  # SQL NULL, not a JSON null
        assert (document.published_at, document.modified_at, document.author, document.section,
                document.tags, document.language, document.canonical_url, document.image_count,
                document.metadata_problems) == (
            datetime(2024, 5, 14, 1, 30, tzinfo=UTC), None, "Thu Hằng", "Thế giới",
            ["Ngoại giao", "Hòa bình"], "vi", "https://vov.vn/a-post1.vov", 2,
            {"modified_at": "unreadable date 'x'"})
