"""Hand-written article pages in the markup of other Vietnamese portals, for extraction with
no site profile (`ExtractHints()`): what the extractor must get right on a site it was never
told about.

Not copies of real pages: the markup imitates the shapes the big portals use (vnexpress's
`h1.title-detail`, `p.description` and `article.fck_detail`; tuoitre's `h2.detail-sapo`;
dantri's `h2.singular-sapo`; a generic `div.lead`, `div.summary` or `.standfirst`), with a
lead that sits outside the body container between the `<h1>` and the body, "see also"
teasers inside the body in various wordings, a block of related links, and genuine
paragraphs that contain a link (to a keyword page or to another article) inside their text.

`LEAD_PAGES` carry that; `TITLE_PAGES` hold one plain body each with the title in one place
only (`og:title`, JSON-LD `headline`, `<title>Headline - Site</title>`, the first `<h1>`);
`NO_TITLE_PAGE` has no title anywhere.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class GenericPage:
    """A page and what extraction must make of it.

    ``title``: the expected title ("" when the page gives none); ``lead``: the expected first
    paragraph ("" when the page has none); ``paragraphs``: the genuine body paragraphs, in
    order; ``absent``: texts no paragraph may contain (teasers, related links, chrome)."""

    name: str
    html: str
    title: str
    lead: str
    paragraphs: tuple[str, ...]
    absent: tuple[str, ...]

    @property
    def body(self) -> bytes:
        return self.html.encode("utf-8")


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def a(href: str, text: str) -> str:
    return f'<a href="{attr(href)}">{esc(text)}</a>'


def ld_json(data: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


TRACKING = """<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}
gtag('js',new Date());gtag('config','G-SAMPLE');</script>"""


# --------------------------------------------------------------------------- vnexpress-like

VNE_TITLE = "Giá cà phê xuất khẩu lập đỉnh mới trong tháng 5"
VNE_LEAD = ("Giá cà phê Robusta xuất khẩu của Việt Nam đã vượt 4.500 USD một tấn, mức cao nhất từ trước "
            "tới nay, do nguồn cung toàn cầu thiếu hụt.")
VNE_TEASER = "Nông dân Tây Nguyên chặt sầu riêng, quay lại trồng cà phê"
VNE_RELATED = ("Xuất khẩu nông sản bốn tháng đầu năm tăng mạnh", "Giá sầu riêng giảm sâu cuối vụ",
               "Doanh nghiệp cà phê lo thiếu hàng giao theo hợp đồng")
VNE_PARAGRAPHS = (
    "Theo Hiệp hội Cà phê - Ca cao Việt Nam, lượng cà phê xuất khẩu trong bốn tháng đầu năm đạt khoảng "
    "820.000 tấn, giảm 11% so với cùng kỳ năm trước nhưng kim ngạch lại tăng gần 40%.",
    "Tại Đắk Lắk, giá cà phê nhân xô được thương lái thu mua ở mức 120.000 đồng một kg, gấp đôi cùng kỳ năm "
    "ngoái. Nhiều hộ nông dân cho biết chưa bao giờ bán được giá cao như vậy.",
    "Các chuyên gia nhận định đợt hạn hán kéo dài ở Tây Nguyên và Brazil là nguyên nhân chính khiến sản "
    "lượng sụt giảm, đẩy giá lên cao.",
    "Tuy vậy, doanh nghiệp xuất khẩu lo ngại giá tăng quá nhanh sẽ khiến nhiều hợp đồng giao hàng kỳ hạn gặp "
    "rủi ro, do không thu mua đủ hàng để giao.",
    "Bộ Nông nghiệp khuyến cáo nông dân không ồ ạt mở rộng diện tích, mà tập trung tái canh và nâng cao chất "
    "lượng hạt cà phê.",
)
VNE_FOOTER = "Báo điện tử VnExpress thuộc Bộ Khoa học và Công nghệ. Số giấy phép: 548/GP-BTTTT."


def vnexpress_page() -> GenericPage:
    site = "https://vnexpress.net"
    p = VNE_PARAGRAPHS
    linked = p[1].replace("Đắk Lắk", a(f"{site}/dak-lak-thu-phu-ca-phe-4512345.html", "Đắk Lắk"), 1)
    teaser = a(f"{site}/nong-dan-tay-nguyen-chat-sau-rieng-4781234.html", VNE_TEASER)
    related = "".join(
        f'<li><h4 class="title-news">{a(f"{site}/bai-lien-quan-{n}-47{n}0001.html", title)}</h4></li>'
        for n, title in enumerate(VNE_RELATED))
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{esc(VNE_TITLE)} - VnExpress Kinh doanh</title>
<meta property="og:title" content="{attr(VNE_TITLE)}">
<meta property="og:site_name" content="VnExpress">
<meta name="description" content="{attr(VNE_LEAD)}">
<link rel="canonical" href="{site}/gia-ca-phe-xuat-khau-lap-dinh-moi-4790123.html">
{TRACKING}
</head><body class="page-detail">
<header class="section top-header"><nav class="main-nav"><ul>
<li>{a("/thoi-su", "Thời sự")}</li><li>{a("/the-gioi", "Thế giới")}</li>
<li>{a("/kinh-doanh", "Kinh doanh")}</li><li>{a("/giai-tri", "Giải trí")}</li>
<li>{a("/the-thao", "Thể thao")}</li></ul></nav></header>
<section class="section page-detail top-detail"><div class="container"><div class="sidebar-1">
<div class="header-content width_common"><ul class="breadcrumb"><li>{a("/kinh-doanh", "Kinh doanh")}</li>
<li>{a("/kinh-doanh/hang-hoa", "Hàng hóa")}</li></ul>
<span class="date">Thứ hai, 13/5/2024, 08:00 (GMT+7)</span></div>
<h1 class="title-detail">{esc(VNE_TITLE)}</h1>
<p class="description">{esc(VNE_LEAD)}</p>
<article class="fck_detail ">
<p class="Normal">{esc(p[0])}</p>
<figure data-size="true"><div class="fig-picture">
<img src="{site}/images/ca-phe.jpg" alt="Thu hoạch cà phê"></div><figcaption>
<p class="Image">Nông dân thu hoạch cà phê tại Tây Nguyên. Ảnh: Quỳnh Trần</p></figcaption></figure>
<p class="Normal">{linked}</p>
<p class="Normal"><strong>&gt;&gt; Xem thêm: {teaser}</strong></p>
<p class="Normal">{esc(p[2])}</p>
<p class="Normal">{esc(p[3])}</p>
<p class="Normal">{esc(p[4])}</p>
</article>
<div class="box-tinlienquanv2"><ul class="list-news">{related}</ul></div>
</div>
<div class="sidebar-2"><div class="box-category"><h3>Xem nhiều</h3><ul>
<li>{a(f"{site}/xem-nhieu-1-4790001.html", "Giá vàng hôm nay tăng vọt")}</li></ul></div></div>
</div></section>
<footer class="footer"><p>{esc(VNE_FOOTER)}</p></footer>
</body></html>
"""
    return GenericPage("vnexpress", page, VNE_TITLE, VNE_LEAD, VNE_PARAGRAPHS,
                       (VNE_TEASER, *VNE_RELATED, VNE_FOOTER, "Giá vàng hôm nay tăng vọt"))


# --------------------------------------------------------------------------- tuoitre-like

TTO_TITLE = "TP.HCM công bố điểm chuẩn lớp 10 năm học 2024-2025"
TTO_LEAD = ("Sở Giáo dục và Đào tạo TP.HCM vừa công bố điểm chuẩn vào lớp 10 công lập, trong đó trường "
            "THPT chuyên Lê Hồng Phong có điểm chuẩn cao nhất.")
TTO_TEASER = "Tra cứu điểm thi lớp 10 TP.HCM nhanh và chính xác nhất"
TTO_RELATED = ("Hơn 98.000 thí sinh TP.HCM bước vào kỳ thi lớp 10",
               "Đề thi môn toán lớp 10 được đánh giá vừa sức", "Những lưu ý khi nộp hồ sơ nhập học lớp 10")
TTO_PARAGRAPHS = (
    "Năm nay có hơn 98.000 thí sinh đăng ký dự thi vào lớp 10 công lập, trong khi chỉ tiêu tuyển sinh của "
    "các trường là khoảng 77.000 học sinh.",
    "Theo Sở Giáo dục và Đào tạo, điểm chuẩn của đa số trường giảm nhẹ so với năm trước, dao động từ 12 đến "
    "24,75 điểm tùy khu vực.",
    "Thí sinh trúng tuyển phải nộp hồ sơ nhập học trực tiếp tại trường từ ngày 10 đến 15/7. Phụ huynh có thể "
    "xem hướng dẫn chi tiết trên chuyên trang giáo dục của báo, nơi cập nhật lịch nhập học của từng trường.",
    "Những thí sinh không trúng tuyển nguyện vọng nào có thể đăng ký vào các trường tư thục hoặc trung tâm "
    "giáo dục nghề nghiệp - giáo dục thường xuyên.",
)
TTO_FOOTER = "Cơ quan chủ quản: Thành Đoàn TP.HCM. Giấy phép hoạt động báo điện tử số 561/GP-BTTTT."


def tuoitre_page() -> GenericPage:
    p = TTO_PARAGRAPHS
    linked = p[2].replace("chuyên trang giáo dục", a("/giao-duc.htm", "chuyên trang giáo dục"), 1)
    related = "".join(
        f'<li class="kbwscwlrl">{a(f"/bai-lien-quan-{n}-2024061{n}0800.htm", title)}</li>'
        for n, title in enumerate(TTO_RELATED))
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{esc(TTO_TITLE)} - Tuổi Trẻ Online</title>
<meta property="og:title" content="{attr(TTO_TITLE)}">
<link rel="canonical" href="https://tuoitre.vn/tp-hcm-cong-bo-diem-chuan-lop-10-20240612093000.htm">
{TRACKING}
</head><body>
<div class="header"><ul class="menu-nav"><li>{a("/thoi-su.htm", "Thời sự")}</li>
<li>{a("/giao-duc.htm", "Giáo dục")}</li><li>{a("/nhip-song-tre.htm", "Nhịp sống trẻ")}</li></ul></div>
<div class="detail__section"><div class="detail-cate">{a("/giao-duc.htm", "Giáo dục")}</div>
<h1 class="detail-title article-title" data-role="title">{esc(TTO_TITLE)}</h1>
<div class="detail-top"><div class="detail-time">
<div data-role="publishdate">12/06/2024 09:30 GMT+7</div></div></div>
<h2 class="detail-sapo" data-role="sapo">{esc(TTO_LEAD)}</h2>
<div class="detail-cmain"><div class="detail-content afcbc-body" data-role="content" itemprop="articleBody">
<p>{esc(p[0])}</p>
<p>{esc(p[1])}</p>
<p>» Đọc thêm: {a("/tra-cuu-diem-thi-lop-10-tp-hcm-20240611170000.htm", TTO_TEASER)}</p>
<figure class="VCSortableInPreviewMode" type="Photo"><img src="https://cdn.tuoitre.vn/thi-lop-10.jpg" alt="">
<figcaption><p>Thí sinh dự thi lớp 10 tại TP.HCM - Ảnh: Như Hùng</p></figcaption></figure>
<p>{linked}</p>
<div class="VCSortableInPreviewMode" type="RelatedNewsBox"><div class="kbwscwlrl-title">Tin liên quan</div>
<ul class="kbwscwlrl-list">{related}</ul></div>
<p>{esc(p[3])}</p>
</div></div>
<div class="detail-author"><div class="author-info">{a("/tac-gia/tran-huynh.htm", "Trần Huỳnh")}</div></div>
</div>
<div class="footer"><p>{esc(TTO_FOOTER)}</p></div>
</body></html>
"""
    return GenericPage("tuoitre", page, TTO_TITLE, TTO_LEAD, TTO_PARAGRAPHS,
                       (TTO_TEASER, *TTO_RELATED, TTO_FOOTER))


# --------------------------------------------------------------------------- dantri-like

DT_TITLE = "Nhật Bản ghi nhận mùa hoa anh đào nở sớm kỷ lục"
DT_LEAD = ("(Dân trí) - Hoa anh đào tại thủ đô Tokyo năm nay nở sớm hơn trung bình 12 ngày, khiến nhiều lễ "
           "hội ngắm hoa phải dời lịch.")
DT_TEASERS = ("Du khách đổ về Kyoto ngắm hoa, khách sạn kín phòng",
              "Hàn Quốc cảnh báo nắng nóng sớm bất thường")
DT_RELATED = ("Lễ hội hoa anh đào ở Hà Nội thu hút đông du khách", "Nhật Bản đón lượng khách quốc tế kỷ lục")
DT_PARAGRAPHS = (
    "Cơ quan Khí tượng Nhật Bản cho biết hoa anh đào ở Tokyo bắt đầu nở từ ngày 14/3, sớm hơn trung bình "
    "nhiều năm gần hai tuần.",
    "Giới chuyên gia cho rằng mùa đông ấm bất thường là nguyên nhân chính. Nhiệt độ trung bình tháng 2 tại "
    "Tokyo cao hơn 2,3 độ C so với mọi năm.",
    "Theo số liệu mới nhất của Cơ quan Du lịch Nhật Bản, lượng khách quốc tế đến nước này trong tháng 2 đã "
    "vượt 2,7 triệu lượt, phần lớn đến để ngắm hoa.",
    "Chính quyền nhiều địa phương đã khuyến cáo du khách giữ vệ sinh chung và không bẻ cành hoa khi tham gia "
    "các lễ hội.",
)
DT_FOOTER = "Cơ quan chủ quản: Bộ Lao động - Thương binh và Xã hội. Giấy phép số 298/GP-BTTTT."


def dantri_page() -> GenericPage:
    site = "https://dantri.com.vn"
    p = DT_PARAGRAPHS
    # a genuine paragraph whose link is to another article of the site
    other = f"{site}/the-gioi/nhat-ban-don-khach-ky-luc-20240301093000456.htm"
    linked = p[2].replace("số liệu mới nhất", a(other, "số liệu mới nhất"), 1)
    related = "".join(
        f'<article class="article-item"><h3 class="article-title">'
        f'{a(f"{site}/the-gioi/lien-quan-{n}-2024031{n}100000.htm", title)}</h3></article>'
        for n, title in enumerate(DT_RELATED))
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{esc(DT_TITLE)} | Báo Dân trí</title>
<meta property="og:title" content="{attr(DT_TITLE)}">
<link rel="canonical" href="{site}/the-gioi/nhat-ban-hoa-anh-dao-no-som-ky-luc-20240315080000123.htm">
{ld_json({"@context": "https://schema.org", "@type": "NewsArticle", "headline": DT_TITLE,
          "datePublished": "2024-03-15T08:00:00+07:00"})}
{TRACKING}
</head><body>
<header class="site-header"><nav class="menu"><ul><li>{a("/xa-hoi.htm", "Xã hội")}</li>
<li>{a("/the-gioi.htm", "Thế giới")}</li><li>{a("/kinh-doanh.htm", "Kinh doanh")}</li></ul></nav></header>
<main class="body-container"><div class="grid-container">
<article class="singular-container">
<h1 class="title-page detail">{esc(DT_TITLE)}</h1>
<div class="author-wrap"><div class="author-name">{a("/tac-gia/minh-phuong.htm", "Minh Phương")}</div>
<time class="author-time" datetime="2024-03-15 08:00">Thứ sáu, 15/03/2024 - 08:00</time></div>
<h2 class="singular-sapo">{esc(DT_LEAD)}</h2>
<div class="singular-content">
<p>{esc(p[0])}</p>
<figure class="image align-center"><img src="{site}/hoa-anh-dao.jpg" alt="">
<figcaption><p>Người dân ngắm hoa anh đào tại công viên Ueno (Ảnh: Kyodo).</p></figcaption></figure>
<p>{esc(p[1])}</p>
<p><em>Xem tiếp: {a(f"{site}/the-gioi/du-khach-do-ve-kyoto-20240320101500123.htm", DT_TEASERS[0])}</em></p>
<p>{linked}</p>
<p>{esc(p[3])}</p>
<p>{a(f"{site}/the-gioi/han-quoc-canh-bao-nang-nong-20240316070000789.htm", DT_TEASERS[1])}</p>
</div>
<div class="article-related"><h3 class="title">Tin liên quan</h3>{related}</div>
</article>
</div></main>
<footer class="site-footer"><p>{esc(DT_FOOTER)}</p></footer>
</body></html>
"""
    return GenericPage("dantri", page, DT_TITLE, DT_LEAD, DT_PARAGRAPHS,
                       (*DT_TEASERS, *DT_RELATED, DT_FOOTER))


# --------------------------------------------------------------------------- generic lead containers

GEN_TITLE = "Đà Nẵng khánh thành cầu vượt sông Hàn thứ tư"
GEN_LEAD = ("Sau hơn hai năm thi công, cây cầu dài 1,2 km nối quận Sơn Trà với trung tâm thành phố đã chính "
            "thức thông xe sáng nay.")
GEN_TEASER = "Đà Nẵng lên kế hoạch mở thêm hai tuyến xe buýt nhanh"
GEN_RELATED = (
    "Cầu Rồng phun lửa phục vụ du khách dịp lễ",
    "Đà Nẵng đón hơn một triệu lượt khách trong tháng 4",
    "Hầm chui sông Hàn được đề xuất nghiên cứu",
)
GEN_PARAGRAPHS = (
    "Cầu có tổng vốn đầu tư hơn 1.100 tỷ đồng từ ngân sách thành phố, được thiết kế sáu làn xe cùng hai làn "
    "dành riêng cho người đi bộ.",
    "Phát biểu tại lễ khánh thành, lãnh đạo thành phố cho biết công trình sẽ giảm tải cho cầu Rồng và cầu "
    "sông Hàn, vốn thường xuyên ùn tắc vào giờ cao điểm.",
    "Người dân địa phương bày tỏ phấn khởi vì quãng đường từ bán đảo Sơn Trà vào trung tâm được rút ngắn gần "
    "một nửa.",
    "Theo kế hoạch, thành phố sẽ tiếp tục đầu tư thêm hai cây cầu qua sông Hàn trong giai đoạn 2025-2030.",
)
GEN_FOOTER = ("Bản quyền thuộc về Báo Đà Nẵng Ngày Nay. "
              "Ghi rõ nguồn khi phát hành lại thông tin từ website này.")
GEN_MOST_READ = "Giá xăng giảm lần thứ ba liên tiếp"
# (lead markup, teaser wording): a lead container between the <h1> and the body
GENERIC_LEADS = {
    "div.lead": ('<div class="lead">{lead}</div>', "Mời xem: {link}"),
    "div.summary": ('<div class="summary"><p>{lead}</p></div>', "Read more: {link}"),
    ".standfirst": ('<p class="standfirst">{lead}</p>', "<strong>Tin liên quan:</strong> {link}"),
}


def generic_lead_page(kind: str) -> GenericPage:
    lead_markup, teaser = GENERIC_LEADS[kind]
    p = GEN_PARAGRAPHS
    linked = p[1].replace("cầu Rồng", a("/tag/cau-rong", "cầu Rồng"), 1)
    teaser_link = a("/giao-thong/da-nang-mo-them-hai-tuyen-xe-buyt-nhanh-a12345.html", GEN_TEASER)
    related = "".join(f"<li>{a(f'/du-lich/lien-quan-a1230{n}.html', title)}</li>"
                      for n, title in enumerate(GEN_RELATED))
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{esc(GEN_TITLE)} - Đà Nẵng Ngày Nay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
{TRACKING}
</head><body>
<header><div class="logo">{a("/", "Đà Nẵng Ngày Nay")}</div>
<nav><ul><li>{a("/thoi-su", "Thời sự")}</li><li>{a("/giao-thong", "Giao thông")}</li>
<li>{a("/du-lich", "Du lịch")}</li></ul></nav></header>
<main class="site-main"><article class="post">
<header class="entry-header"><h1 class="entry-title">{esc(GEN_TITLE)}</h1>
<div class="entry-meta"><span class="posted-on">13/05/2024</span>
<span class="byline">Hoàng Long</span></div></header>
{lead_markup.format(lead=esc(GEN_LEAD))}
<div class="entry-content">
<p>{esc(p[0])}</p>
<p>{linked}</p>
<p>{teaser.format(link=teaser_link)}</p>
<p>{esc(p[2])}</p>
<p>{esc(p[3])}</p>
<section class="related-posts"><h2>Bài liên quan</h2><ul>{related}</ul></section>
</div>
</article>
<aside class="widget-area"><section class="widget"><h2 class="widget-title">Đọc nhiều</h2>
<ul><li>{a("/thoi-su/doc-nhieu-a11111.html", GEN_MOST_READ)}</li></ul></section></aside>
</main>
<footer class="site-footer"><p>{esc(GEN_FOOTER)}</p></footer>
</body></html>
"""
    return GenericPage(f"generic {kind}", page, GEN_TITLE, GEN_LEAD, GEN_PARAGRAPHS,
                       (GEN_TEASER, *GEN_RELATED, GEN_FOOTER, GEN_MOST_READ))


LEAD_PAGES: tuple[GenericPage, ...] = (
    vnexpress_page(), tuoitre_page(), dantri_page(), *(generic_lead_page(kind) for kind in GENERIC_LEADS),
)


# --------------------------------------------------------------------------- the title in one place only

PLAIN_TITLE = "Hà Nội thí điểm xe buýt điện trên tuyến nội đô"
PLAIN_PARAGRAPHS = (
    "Từ đầu tháng 6, Hà Nội đưa vào vận hành thí điểm 20 xe buýt điện trên tuyến Long Biên - Cầu Giấy, "
    "tần suất 10 phút một chuyến.",
    "Theo Sở Giao thông Vận tải, mỗi xe có sức chứa 60 hành khách, được trang bị hệ thống định vị và camera "
    "giám sát.",
    "Giá vé lượt được giữ nguyên 7.000 đồng, người cao tuổi và trẻ em dưới sáu tuổi được miễn phí.",
    "Nếu thí điểm hiệu quả, thành phố sẽ chuyển đổi toàn bộ xe buýt sang sử dụng điện và năng lượng xanh "
    "trước năm 2035.",
)
PLAIN_FOOTER = "© 2024 Tin Hà Nội. Mọi quyền được bảo lưu."


def plain_page(name: str, head: str, title: str, heading: str = "") -> GenericPage:
    body = "\n".join(f"<p>{esc(text)}</p>" for text in PLAIN_PARAGRAPHS)
    page = f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
{head}
</head><body>
<div class="wrapper"><nav class="menu">{a("/", "Trang chủ")} {a("/giao-thong", "Giao thông")}</nav>
{heading}
<div class="content">
{body}
</div>
<footer><p>{esc(PLAIN_FOOTER)}</p></footer></div>
</body></html>
"""
    return GenericPage(name, page, title, "", PLAIN_PARAGRAPHS, (PLAIN_FOOTER,))


TITLE_PAGES: tuple[GenericPage, ...] = (
    plain_page("og:title", f'<meta property="og:title" content="{attr(PLAIN_TITLE)}">', PLAIN_TITLE),
    plain_page("JSON-LD headline", ld_json({"@context": "https://schema.org", "@type": "NewsArticle",
                                            "headline": PLAIN_TITLE}), PLAIN_TITLE),
    plain_page("<title> Headline - Site", f"<title>{esc(PLAIN_TITLE)} - Tin Hà Nội</title>", PLAIN_TITLE),
    plain_page("<title> Headline | Site", f"<title>{esc(PLAIN_TITLE)} | Báo Giao thông</title>", PLAIN_TITLE),
    plain_page("first h1", "", PLAIN_TITLE, f'<h1 class="post-title">{esc(PLAIN_TITLE)}</h1>'),
)

NO_TITLE_PAGE = plain_page("no title", "", "")
