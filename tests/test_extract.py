"""The extractor on VOV-style markup and on bad input: failure is a value with a reason."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

import pytest
from lxml import html as lxml_html

from crawler.extraction.article import EXTRACTOR_VERSION, extract_article
from crawler.profiles import ExtractHints, load_profiles
from settings import project

HINTS: ExtractHints = load_profiles(project.PROFILES_DIR)["vov"].extract

PAGE = """<!DOCTYPE html><html lang="vi"><head><meta charset="{charset}">
<title>Đàm phán hòa bình | VOV.VN</title>
<meta property="article:published_time" content="2024-05-14T08:30:00+07:00">
<script>var ads = "Tin liên quan";</script></head><body>
<header><nav><a href="/the-gioi">Thế giới</a> <a href="/lich?date=2024-05-14">Lịch</a></nav></header>
<div class="row article-title"><h1>Đàm phán hòa bình</h1></div>
<div class="col-md-4 mb-2">14/05/2024 08:30</div>
<div class="row article-summary">VOV.VN - Hai bên nhất trí tiếp tục đàm phán.</div>
<div class="row article-content"><div class="text-long">
<p>Các quan chức&nbsp;hai nước đã gặp nhau tại <a href="/x">Istanbul</a> hôm nay.</p>
<h2>Những điểm khác biệt</h2>
<p>Hai bên vẫn còn nhiều <strong>khác biệt</strong> về lập trường.</p>
<figure class="image"><img src="a.jpg"><figcaption>Toàn cảnh cuộc đàm phán</figcaption></figure>
<blockquote><p>Chúng tôi mong muốn hòa bình lâu dài.</p></blockquote>
<p>Xem thêm: <a href="/y">Bài liên quan khác</a></p>
<div class="article-relate"><div class="title">Tin liên quan</div><a href="/z"><h3>Teaser</h3></a>
<p>VOV.VN - Tóm tắt bài khác.</p></div>
<p>Vòng đàm phán tiếp theo dự kiến diễn ra vào tháng sau.</p>
<p style="text-align:right"><strong>Thu Hằng/VOV.VN</strong></p>
</div>
<div class="article-social">Mời quý độc giả theo dõi VOV.VN trên <a>Facebook</a></div>
<div class="article-comment"><h3>Viết bình luận</h3><form><textarea></textarea></form>
<p>This site is protected by reCAPTCHA and the Google Privacy Policy and Terms of Service apply.</p></div>
</div>
<aside class="sidebar"><h3>Đọc nhiều</h3><a href="/w">Bài đọc nhiều</a></aside>
<footer>90ph tv mitom link bong da</footer></body></html>"""

GOLD = """Đàm phán hòa bình

VOV.VN - Hai bên nhất trí tiếp tục đàm phán.

Các quan chức hai nước đã gặp nhau tại Istanbul hôm nay.

Những điểm khác biệt

Hai bên vẫn còn nhiều khác biệt về lập trường.

Chúng tôi mong muốn hòa bình lâu dài.

Vòng đàm phán tiếp theo dự kiến diễn ra vào tháng sau.
"""


def extract(body: bytes, content_type: str | None = "text/html; charset=utf-8", max_bytes: int = 10**6):
    return extract_article(body, content_type=content_type, hints=HINTS, max_bytes=max_bytes)


def test_a_vov_style_page_gives_exactly_the_article() -> None:
    result = extract(PAGE.format(charset="utf-8").encode())
    assert result.failure is None and result.version == EXTRACTOR_VERSION
    assert result.article is not None
    assert result.article.text == GOLD
    assert result.article.published_at == datetime(2024, 5, 14, 1, 30, tzinfo=UTC)


def test_published_dates_after_the_fetch_are_refused() -> None:
    article = extract(PAGE.format(charset="utf-8").encode()).article
    assert article is not None
    assert article.published_before(datetime(2024, 5, 15, tzinfo=UTC)) is not None
    assert article.published_before(datetime(2024, 5, 13, tzinfo=UTC)) is None


def test_a_windows_1258_page_decodes_to_nfc() -> None:
    body = encode_cp1258(PAGE.format(charset="windows-1258"))
    assert body.decode("cp1258") != unicodedata.normalize("NFC", body.decode("cp1258"))
    result = extract(body, "text/html; charset=windows-1258")
    assert result.article is not None and result.article.text == GOLD


def encode_cp1258(text: str) -> bytes:
    """cp1258 has the shaped letters (â, ơ, ư, ...) but writes tone marks as combining ones."""
    shapes = "\u0302\u0306\u031b"
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        base, *marks = unicodedata.normalize("NFD", char)
        shaped = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in shapes))
        tones = "".join(m for m in marks if m not in shapes)
        out += (char if char.encode("cp1258", "ignore") else shaped + tones).encode("cp1258")
    return bytes(out)


def test_utf8_bytes_under_a_wrong_declaration_are_read_as_utf8() -> None:
    result = extract(PAGE.format(charset="iso-8859-1").encode(), "text/html; charset=iso-8859-1")
    assert result.article is not None and result.article.text == GOLD


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    (b"", "text/html", "empty"),
    (b"  \r\n ", "text/html", "empty"),
    (b"%PDF-1.4 binary", "application/pdf", "not_html"),
    (b"<html>\x00\x01\x02\x00 binary</html>", "text/html", "binary"),
    (b"<html><body><h1>" + bytes(range(0x80, 0x100)) * 8 + b"</h1></body></html>", "text/html", "charset"),
    (b"<html><body><h1>Title only</h1></body></html>", "text/html", "no_text"),
])
def test_bad_input_fails_with_a_reason(body: bytes, content_type: str, reason: str) -> None:
    result = extract(body, content_type)
    assert result.article is None and result.failure is not None
    assert result.failure.reason == reason and result.failure.detail


def test_a_utf8_page_with_a_few_stray_latin1_bytes_stays_utf8_and_says_so() -> None:
    page = ('<html><head><meta charset="utf-8"><title>Nắng nóng kỷ lục</title></head><body><main><article>'
            f'<img alt="K\xfcche">{PLAIN_BODY}</article></main></body></html>').encode()
    page = page.replace("K\xfcche".encode(), b"K\xfcche")
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None and result.article.paragraphs[0].startswith("Người dân được")
    assert "UTF-8 but for 1 bytes" in result.article.metadata.problems["charset"]


def test_a_latin1_page_that_declares_nothing_is_decoded_by_a_recorded_guess() -> None:
    text = ("Die Größe der Straße ist schön, und überall wächst grünes Gras. " * 6)
    page = (f"<html><head><title>Grüße aus München</title></head><body><main><article>"
            f"<h1>Grüße aus München</h1><p>{text}</p><p>{text}</p></article></main></body></html>"
            ).encode("cp1252")
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None, result.failure
    assert result.article.title == "Grüße aus München" and "Straße" in result.article.paragraphs[0]
    assert "a guess" in result.article.metadata.problems["charset"]


def test_oversized_pages_are_not_extracted() -> None:
    body = PAGE.format(charset="utf-8").encode()
    result = extract(body, max_bytes=len(body) - 1)
    assert result.failure is not None and result.failure.reason == "too_large"
    assert str(len(body)) in result.failure.detail


PLAIN_BODY = ("<p>Người dân được khuyến cáo hạn chế ra ngoài vào buổi trưa khi nắng nóng gay gắt kéo dài.</p>"
              "<p>Các bệnh viện đã chuẩn bị thêm giường bệnh cho những ca say nắng trong mùa hè năm nay.</p>")


def test_a_page_without_any_title_keeps_its_body_and_records_the_problem() -> None:
    body = f"<html><body><main><article>{PLAIN_BODY}</article></main></body></html>".encode()
    result = extract_article(body, content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None, result.failure
    assert result.article.title == ""
    assert result.article.paragraphs[0].startswith("Người dân được khuyến cáo")
    assert "title" in result.article.metadata.problems
    assert result.article.text.startswith("\n\nNgười dân")


@pytest.mark.parametrize(("head", "heading", "title"), [
    ('<meta property="og:title" content="Nắng nóng kỷ lục | Báo Mẫu">'
     '<meta property="og:site_name" content="Báo Mẫu"><title>Trang chủ</title>', "", "Nắng nóng kỷ lục"),
    ('<meta name="twitter:title" content="Nắng nóng kỷ lục">', "<h1>Báo Mẫu</h1>", "Nắng nóng kỷ lục"),
    ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Nắng nóng kỷ lục"}</script>'
     "<title>Khác hẳn</title>", "", "Nắng nóng kỷ lục"),
    ("<title>Nắng nóng kỷ lục - Báo Mẫu</title>"
     '<link rel="canonical" href="https://baomau.vn/a-1.html">', "", "Nắng nóng kỷ lục"),
    ("<title>Nắng nóng - nguy cơ say nắng tăng cao | BaoMau.vn</title>", "",
     "Nắng nóng - nguy cơ say nắng tăng cao"),
    ('<title>Trang chủ | Tin tức - Báo Mẫu</title><meta property="og:site_name" content="Báo Mẫu">',
     "<h1>Nắng nóng kỷ lục</h1>", "Trang chủ | Tin tức"),
    ("<title>Nắng nóng kỷ lục miền Bắc - Thời sự - Báo Mẫu</title>", "<h1>Nắng nóng kỷ lục miền Bắc</h1>",
     "Nắng nóng kỷ lục miền Bắc"),
    ("", "<h1>Nắng nóng kỷ lục</h1>", "Nắng nóng kỷ lục"),
])
def test_the_title_comes_from_the_first_source_that_gives_one(head: str, heading: str, title: str) -> None:
    """Profile, og:title/twitter:title, JSON-LD headline, <title> without the site's name, h1."""
    page = (f"<html><head>{head}</head><body><main>"
            f"<article>{heading}{PLAIN_BODY}</article></main></body></html>")
    result = extract_article(page.encode(), content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None, result.failure
    assert result.article.title == title


def test_scripts_and_inline_json_do_not_count_against_the_size_cap() -> None:
    blob = "x" * 3_000_000
    page = (f'<html><head><title>Nắng nóng kỷ lục</title><script type="application/json">"{blob}"</script>'
            f"<style>{blob}</style></head><body><main><article><h1>Nắng nóng kỷ lục</h1>{PLAIN_BODY}"
            f"<script>var state = '{blob}';</script><noscript>{blob}</noscript><template>{blob}</template>"
            "</article></main></body></html>").encode()
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=16 * 2**20)
    assert result.article is not None, result.failure
    assert "xxx" not in result.article.text and result.article.paragraphs[0].startswith("Người dân")


@pytest.mark.parametrize("trap", [
    "<!-- <script src='/old.js'> -->",
    '<p title="use <script> tags">Một đoạn có thuộc tính lạ nhưng vẫn là nội dung thật của bài báo này.</p>',
    "<pre><code>&lt;script src=x&gt;</code></pre>",
    "<noscript><p>Vui lòng bật JavaScript.</p></noscript>",
])
def test_a_script_tag_named_in_a_comment_attribute_or_code_costs_nothing(trap: str) -> None:
    """Only elements the HTML parser takes for scripts are removed: nothing after a `<script`
    written in a comment, an attribute or a title is lost."""
    page = (f"<html><head><title>Vì sao <script> nguy hiểm</title></head><body><main><article>"
            f"<h1>Vì sao script nguy hiểm</h1>{trap}{PLAIN_BODY}</article></main></body></html>").encode()
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None, result.failure
    assert "Các bệnh viện đã chuẩn bị" in result.article.text and "JavaScript" not in result.article.text


@pytest.mark.parametrize("content", [
    "<ul><li><a href='/wiki/Ha_Noi'>Hà Nội</a> – thủ đô, trung tâm chính trị của cả nước</li>"
    "<li><a href='/wiki/Hue'>Huế</a> – cố đô với quần thể di tích triều Nguyễn</li>"
    "<li><a href='/wiki/Da_Nang'>Đà Nẵng</a> – thành phố biển miền Trung</li>"
    "<li><a href='/wiki/Can_Tho'>Cần Thơ</a> – trung tâm vùng đồng bằng sông Cửu Long</li></ul>",
    "<p><a href='/nhan-vat/nguyen-van-a'>Ông Nguyễn Văn A, Chủ tịch UBND tỉnh Quảng Nam</a> phát biểu.</p>",
    "<h2><a href='/chu-de/kinh-te-vi-mo'>Kinh tế vĩ mô tiếp tục ổn định vững chắc</a></h2>",
    "<p>Toàn văn: <a href='/files/nghi-quyet-01.pdf'>Nghị quyết số 01/NQ-CP năm 2024</a></p>",
])
def test_content_that_merely_links_to_the_site_is_not_a_teaser(content: str) -> None:
    """Found in review: lists of places, a sentence that starts with a linked name, a linked
    sub-heading and a cited document were dropped as teasers."""
    page = (f"<html><head><title>Nắng nóng kỷ lục</title></head><body><main><article>"
            f"<h1>Nắng nóng kỷ lục</h1>{PLAIN_BODY}{content}"
            "<p>Đoạn cuối của bài viết nói về dự báo thời tiết tuần tới.</p>"
            "</article></main></body></html>").encode()
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=10**6,
                             url="https://baomau.vn/thoi-su/nang-nong-1.html")
    assert result.article is not None, result.failure
    wanted = [" ".join(html_text.split()) for html_text in lxml_html.fromstring(content).itertext()]
    assert all(piece in result.article.text for piece in wanted if piece.strip()), result.article.text


def test_a_control_character_does_not_cost_the_rest_of_the_page() -> None:
    """trafilatura returns nothing for a page with a stray BEL in a paragraph (its XML cannot
    hold it): seen on a real page, whose whole body was lost."""
    page = (f"<html><head><title>Nắng nóng kỷ lục</title></head><body><main><article>"
            f"<h1>Nắng nóng kỷ lục</h1>{PLAIN_BODY}<p>Nguồn: WWF\x07 (2020):\x07 Báo cáo Hành tinh sống.</p>"
            "</article></main></body></html>").encode()
    result = extract_article(page, content_type="text/html", hints=ExtractHints(), max_bytes=10**6)
    assert result.article is not None, result.failure
    assert result.article.paragraphs[0].startswith("Người dân được")


def test_a_broken_page_still_extracts_what_it_can() -> None:
    truncated = PAGE.format(charset="utf-8").encode()[: PAGE.index("<h2>") + 200]
    result = extract(truncated)
    assert result.article is not None
    assert result.article.paragraphs[0] == "VOV.VN - Hai bên nhất trí tiếp tục đàm phán."


# ---- text rules: lists, headings, quotes, tables, line breaks, duplicates ----------------

LIST_BODY = """<p>Bộ Y tế đưa ra ba khuyến cáo cho người dân trong đợt nắng nóng kéo dài này.</p>
<h2>Các khuyến cáo chính</h2>
<ul><li>Uống đủ nước, kể cả khi không khát.</li>
<li>Hạn chế ra ngoài từ 11 giờ đến 15 giờ.</li>
<li>Theo dõi sức khỏe người cao tuổi và trẻ nhỏ.</li></ul>
<blockquote>“Không được chủ quan với say nắng”, đại diện Bộ Y tế nhấn mạnh.</blockquote>
<p>Các bệnh viện đã chuẩn bị phương án tiếp nhận bệnh nhân trong những ngày tới.</p>"""

LIST_PARAGRAPHS = [
    "Bộ Y tế đưa ra ba khuyến cáo cho người dân trong đợt nắng nóng kéo dài này.",
    "Các khuyến cáo chính",
    "Uống đủ nước, kể cả khi không khát.",
    "Hạn chế ra ngoài từ 11 giờ đến 15 giờ.",
    "Theo dõi sức khỏe người cao tuổi và trẻ nhỏ.",
    "“Không được chủ quan với say nắng”, đại diện Bộ Y tế nhấn mạnh.",
    "Các bệnh viện đã chuẩn bị phương án tiếp nhận bệnh nhân trong những ngày tới.",
]


def vov_page(body_html: str) -> bytes:
    return (f'<html lang="vi"><head><title>Nắng nóng</title></head><body>'
            f'<div class="article-title"><h1>Khuyến cáo phòng say nắng</h1></div>'
            f'<div class="article-summary">VOV.VN - Bộ Y tế khuyến cáo người dân.</div>'
            f'<div class="article-content"><div class="text-long">{body_html}</div></div>'
            f"<aside><h3>Đọc nhiều</h3></aside></body></html>").encode()


def generic_page(body_html: str) -> bytes:
    """No VOV markup at all: the generic path (trafilatura's precision mode) handles it."""
    nav = "".join(f'<li><a href="/s{i}">Chuyên mục {i}</a></li>' for i in range(12))
    return (f'<html lang="vi"><head><title>Khuyến cáo phòng say nắng | Báo điện tử mẫu</title></head>'
            f"<body><nav><ul>{nav}</ul></nav><main><article><h1>Khuyến cáo phòng say nắng</h1>{body_html}"
            "</article></main>"
            f"<footer><p>© Báo điện tử mẫu. Mọi quyền được bảo lưu.</p></footer></body></html>").encode()


def test_a_list_in_the_body_keeps_every_item_as_a_paragraph() -> None:
    result = extract(vov_page(LIST_BODY))
    assert result.article is not None
    assert list(result.article.paragraphs) == ["VOV.VN - Bộ Y tế khuyến cáo người dân.", *LIST_PARAGRAPHS]


def test_a_list_survives_the_generic_path_too() -> None:
    result = extract_article(generic_page(LIST_BODY), content_type="text/html", hints=ExtractHints(),
                             max_bytes=10**6)
    assert result.article is not None
    assert result.article.title == "Khuyến cáo phòng say nắng"
    assert list(result.article.paragraphs) == LIST_PARAGRAPHS


def test_invisible_characters_nbsp_and_decomposed_marks_are_cleaned() -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    body = (f"<p>Trời\u00a0nắng\u200b ở {decomposed}&nbsp;hôm\ufeff nay, nhiệt độ lên tới 40 độ C.</p>"
            "<p>Người dân được khuyến cáo ở trong nhà vào buổi trưa.</p>")
    article = extract(vov_page(body)).article
    assert article is not None
    assert article.paragraphs[1] == "Trời nắng ở Hà Nội hôm nay, nhiệt độ lên tới 40 độ C."
    assert all(unicodedata.is_normalized("NFC", p) for p in article.paragraphs)


def test_line_breaks_and_table_rows_make_paragraphs() -> None:
    body = ("<p>Lịch thi đấu của đội tuyển trong tháng tới như sau, theo thông báo của liên đoàn.</p>"
            "<p>Ngày 5/6: gặp Lào<br>Ngày 10/6: gặp Thái Lan</p>"
            "<table><tr><td>Đội</td><td>Điểm</td></tr><tr><td>Việt Nam</td><td>9</td></tr></table>")
    article = extract(vov_page(body)).article
    assert article is not None
    assert article.paragraphs[2:] == ("Ngày 5/6: gặp Lào", "Ngày 10/6: gặp Thái Lan", "Đội | Điểm",
                                      "Việt Nam | 9")


def test_duplicates_made_by_the_page_go_but_repeats_by_the_author_stay() -> None:
    repeated = "Uống đủ nước, kể cả khi không khát."
    body = (f"<p>VOV.VN - Bộ Y tế khuyến cáo người dân.</p><p>Khuyến cáo phòng say nắng</p>"
            f"<p>{repeated}</p><p>{repeated}</p><p>Buổi trưa nên ở trong nhà, tránh ánh nắng trực tiếp.</p>"
            f"<p>{repeated}</p>")
    article = extract(vov_page(body)).article
    assert article is not None
    assert article.paragraphs == ("VOV.VN - Bộ Y tế khuyến cáo người dân.", repeated,
                                  "Buổi trưa nên ở trong nhà, tránh ánh nắng trực tiếp.", repeated)
