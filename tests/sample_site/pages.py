"""HTML, XML and text rendering of the sample site, modelled on vov.vn.

The markup copies the structure of the real Drupal portal (class names such
as ``article-title``, ``article-summary``, ``text-long``, ``article-relate``)
and surrounds every article with the heavy chrome a real page has: a big
menu, sidebars of other headlines with teasers, "Tin liên quan" boxes that
repeat titles and leads, a comment form, tags, ads and a footer with spam
links.  An extractor that keeps any of that produces text that differs from
the gold text, so the end-to-end tests really test extraction.

Links are root-relative (as on vov.vn) except canonical/og URLs, feeds and
sitemaps, which use the absolute ``base`` URL the server is bound to.  Chrome
only ever links to ``common`` articles, so that articles with an exclusive
discovery path stay exclusive (see :mod:`.catalog`).
"""

from __future__ import annotations

import base64
import email.utils
import html
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from .catalog import FEED_SIZE, LATEST_FEED_SIZE, Catalog, SpecialIds
from .content import CATEGORIES, MENU_ONLY_CATEGORIES, Article, Block, tag_path

OVERSIZED_BYTES = 3 * 1024 * 1024
SOCIAL_LINKS = {
    "Facebook": "https://www.facebook.com/VOV.VN",
    "Zalo": "https://zalo.me/1832736499285815129",
    "Youtube": "https://www.youtube.com/@baodientuvov",
    "TikTok": "https://www.tiktok.com/@vov.vn",
}
CHANNEL_LINKS = {
    "VOV1": "https://vov1.vov.vn/",
    "VOV Giao thông": "https://vovgiaothong.vn/",
    "VOVTV": "https://vtc.gov.vn/",
    "English": "https://english.vov.vn/",
}
SPAM_LINKS = (
    ("90ph tv", "https://90phut2.tv/"),
    ("90 tv", "https://90tv.live/"),
    ("mitom", "https://mitom1.tv/"),
    ("link bong da tv", "https://linkbongda.tv/"),
    ("soi kèo hôm nay", "https://soikeo.club/"),
    ("Đại lý bóng đá", "https://dailybongda.net/"),
    ("mitom", "https://mitom3.org/"),
    ("keo ma cao", "https://keomacao.org/"),
)
STATIC_PAGES = {
    "/gioi-thieu": ("Giới thiệu", "Báo điện tử VOV là cơ quan thông tin điện tử của Đài Tiếng nói Việt Nam."),
    "/lien-he": ("Liên hệ", "Mọi thông tin xin gửi về hộp thư vovonline@vov.vn hoặc gọi số (024) 39.344.231."),
    "/dieu-khoan-su-dung": ("Điều khoản sử dụng", "Nội dung trên Báo điện tử VOV được bảo hộ bản quyền."),
    "/chinh-sach-bao-mat": ("Chính sách bảo mật", "Chúng tôi cam kết bảo vệ thông tin cá nhân của độc giả."),
}
OFFSITE_URLS = (*SOCIAL_LINKS.values(), *CHANNEL_LINKS.values(), *(url for _, url in SPAM_LINKS))
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
STYLE = """<style>
body{font-family:Roboto,Arial,sans-serif;margin:0;color:#222}.container{max-width:1140px;margin:0 auto}
.main-menu ul{list-style:none;display:flex;flex-wrap:wrap}.article-title h1{font-size:32px}
.article-summary{font-weight:700}.sidebar{width:300px}.ads{min-height:250px;background:#f4f4f4}
</style>"""
TRACKING_SCRIPT = """<script>
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-VOVSAMPLE');
</script>"""
AD_SLOT = ('<div class="ads {size}"><ins class="adsbygoogle" data-ad-client="ca-pub-0000" '
           'data-ad-slot="{slot}"></ins><script>(adsbygoogle = window.adsbygoogle || []).push({{}});</script></div>')


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def link(href: str, text: str, **attrs: str) -> str:
    extra = "".join(f' {name.rstrip("_")}="{attr(value)}"' for name, value in attrs.items())
    return f'<a href="{attr(href)}"{extra}>{esc(text)}</a>'


def teaser(article: Article, words: int = 18) -> str:
    parts = article.lead.split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def weekday_date(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"


def http_date_rfc822(article: Article) -> str:
    return email.utils.format_datetime(article.published)


# --------------------------------------------------------------------------- chrome

def document(title: str, body: str, *, head: str = "", charset: str = "utf-8", body_class: str = "") -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"vi\" dir=\"ltr\">\n<head>\n"
        f'<meta charset="{charset}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">\n'
        f"<title>{esc(title)}</title>\n"
        '<link rel="alternate" type="application/rss+xml" title="VOV.VN" href="/rss/home.rss">\n'
        f"{head}{STYLE}\n{TRACKING_SCRIPT}\n</head>\n"
        f'<body class="{attr(body_class)}">\n{body}\n</body>\n</html>\n'
    )


def header(today: date, active: str | None = None) -> str:
    channels = " | ".join(link(url, name, target="_blank") for name, url in CHANNEL_LINKS.items())
    social = " ".join(link(url, name, rel="nofollow", class_="social") for name, url in SOCIAL_LINKS.items())
    menu = "".join(
        f'<li class="{"active" if slug == active else ""}">{link(f"/{slug}", name)}</li>'
        for slug, name in {**CATEGORIES, **MENU_ONLY_CATEGORIES}.items()
    )
    search_hint = link("/tim-kiem?" + urlencode({"q": "giá vàng"}), "giá vàng")
    return f"""<header class="site-header">
<div class="top-bar container"><span class="today">{weekday_date(today)}</span> {channels}
<span class="social-top">{social}</span>
{link(f"/lich?date={today.isoformat()}", "Lịch vạn niên", class_="calendar")}</div>
<div class="container logo-bar"><a href="/" class="logo" title="Báo điện tử VOV"><img src="https://vov.vn/themes/vovvn/logo.svg" alt="VOV.VN"></a>
{AD_SLOT.format(size="ads-728x90", slot="header")}
<form class="search-form" action="/tim-kiem" method="get"><input type="text" name="q" placeholder="Tìm kiếm"><button type="submit">Tìm</button></form>
<div class="search-hot">Tìm kiếm nhiều: {search_hint}</div></div>
<nav class="main-menu container"><ul><li>{link("/", "Trang chủ")}</li>{menu}</ul></nav>
</header>"""


def breadcrumb(base: str, category: str) -> str:
    return (f'<nav class="breadcrumb container"><a href="{attr(base)}/">Trang chủ</a> › '
            f'{link(f"/{category}", CATEGORIES.get(category, MENU_ONLY_CATEGORIES.get(category, "")))}</nav>')


def news_item(article: Article, *, href_suffix: str = "") -> str:
    return (f'<div class="news-item">{link(article.path + href_suffix, article.title, class_="news-title")}'
            f'<p class="sapo">{esc(teaser(article))}</p></div>')


def sidebar(catalog: Catalog, rng: random.Random, exclude: int | None = None) -> str:
    pool = [a for a in catalog.common if a.id != exclude]
    newest = "".join(news_item(a) for a in pool[:5])
    popular = "".join(news_item(a) for a in rng.sample(pool, min(5, len(pool))))
    utm = "?" + urlencode({"utm_source": "facebook", "utm_medium": "social"})
    featured = news_item(rng.choice(pool), href_suffix=utm) if pool else ""
    return f"""<aside class="sidebar col-lg-4">
{AD_SLOT.format(size="ads-300x600", slot="sidebar-top")}
<section class="box-latest"><h2 class="box-title">Tin mới</h2>{newest}</section>
<section class="box-most-read"><h2 class="box-title">Đọc nhiều</h2>{popular}</section>
{AD_SLOT.format(size="ads-300x250", slot="sidebar-middle")}
<section class="box-dont-miss"><h2 class="box-title">Đừng bỏ lỡ</h2>{featured}</section>
</aside>"""


def footer() -> str:
    categories = " ".join(link(f"/{slug}", name) for slug, name in CATEGORIES.items())
    info = " | ".join(link(path, title) for path, (title, _) in STATIC_PAGES.items())
    spam = " ".join(link(url, text, rel="dofollow") for text, url in SPAM_LINKS)
    return f"""<footer class="site-footer">
<div class="container footer-menu">{categories} {link("/rss/home.rss", "RSS")}</div>
<div class="container footer-info">
<p>Cơ quan chủ quản: Đài Tiếng nói Việt Nam. Tổng Biên tập: Nguyễn Văn An.</p>
<p>Giấy phép số 1259/GP-BTTTT do Bộ Thông tin và Truyền thông cấp.</p>
<p>Địa chỉ: 45 Bà Triệu, Hoàn Kiếm, Hà Nội. Điện thoại: (024) 39.344.231. Email: vovonline@vov.vn</p>
<p>© Bản quyền thuộc về Báo điện tử VOV - Đài Tiếng nói Việt Nam. Cấm sao chép dưới mọi hình thức nếu không có sự chấp thuận bằng văn bản.</p>
<p class="footer-links">{info}</p></div>
<div class="container footer-partner">{spam}</div>
</footer>
<script>document.querySelectorAll('.ads').forEach(function (el) {{ el.setAttribute('data-ready', '1'); }});</script>"""


def page_shell(catalog: Catalog, title: str, main: str, *, today: date, active: str | None = None,
               head: str = "", rng: random.Random | None = None, exclude: int | None = None,
               charset: str = "utf-8", body_class: str = "", base: str = "", with_sidebar: bool = True) -> str:
    crumbs = breadcrumb(base, active) if active else ""
    side = sidebar(catalog, rng or random.Random(0), exclude) if with_sidebar else ""
    body = (f"{header(today, active)}\n{crumbs}\n<div class=\"container main\"><div class=\"row\">"
            f"<div class=\"col-lg-8 col-main\">{main}</div>\n{side}</div></div>\n{footer()}")
    return document(title, body, head=head, charset=charset, body_class=body_class)


# --------------------------------------------------------------------------- article

def article_head(article: Article, base: str) -> str:
    url = base + article.path
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "headline": article.title, "description": article.lead,
        "image": [article.image],
        "datePublished": article.published.isoformat(), "dateModified": article.lastmod.isoformat(),
        "author": {"@type": "Person", "name": article.author},
        "publisher": {"@type": "Organization", "name": "Báo điện tử VOV",
                      "logo": {"@type": "ImageObject", "url": "https://vov.vn/themes/vovvn/logo.svg"}},
    }
    ld_json = json.dumps(ld, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return (
        f'<meta name="description" content="{attr(article.lead)}">\n'
        '<meta property="og:type" content="article">\n'
        '<meta property="og:site_name" content="Báo điện tử VOV">\n'
        f'<meta property="og:title" content="{attr(article.title)}">\n'
        f'<meta property="og:description" content="{attr(article.lead)}">\n'
        f'<meta property="og:url" content="{attr(url)}">\n'
        f'<meta property="og:image" content="{attr(article.image)}">\n'
        f'<meta property="article:published_time" content="{article.published.isoformat()}">\n'
        f'<meta property="article:modified_time" content="{article.lastmod.isoformat()}">\n'
        f'<meta property="article:section" content="{attr(CATEGORIES[article.category])}">\n'
        f'<link rel="canonical" href="{attr(url)}">\n'
        f'<script type="application/ld+json">{ld_json}</script>\n'
        f"<script>dataLayer.push({json.dumps({'articleId': article.id, 'category': article.category})});</script>\n"
    )


def block_html(block: Block, rng: random.Random) -> str:
    if block.kind == "h2":
        return f"<h2>{block.html}</h2>"
    if block.kind == "quote":
        return f"<blockquote><p>{block.html}</p></blockquote>"
    style = ' style="text-align:justify"' if rng.random() < 0.3 else ""
    return f"<p{style}>{block.html}</p>"


def figure_html(article: Article) -> str:
    return (f'<figure class="image"><img src="{attr(article.image)}" alt="{attr(article.title)}" '
            f'width="800" height="450" loading="lazy"><figcaption>{esc(article.caption)}</figcaption></figure>')


def relate_box(articles: Sequence[Article]) -> str:
    items = "".join(
        f'<div class="relate-item"><a href="{attr(a.path)}"><h3>{esc(a.title)}</h3></a>'
        f'<div class="title">{esc(a.title)}</div><p>{esc(a.summary)}</p></div>'
        for a in articles
    )
    return f'<div class="article-relate"><div class="title">Tin liên quan</div>{items}</div>'


def author_html(article: Article) -> str:
    if article.author_region:
        return f'<p class="author">{esc(article.author)}/{esc(article.author_region)}</p>'
    return f'<p style="text-align:right"><strong>{esc(article.author)}/VOV.VN</strong></p>'


# --------------------------------------------------------------------------- article variants
# Real news sites write the same things in many ways; an extractor must not depend on one.
# The variants below change only the markup, never the gold text. Their choices come from a
# per-article generator of their own (`variant_rng`), so that adding or changing a variant
# leaves the draws of the page's main generator (sidebar, related box, styles) as they were.

# Picked so that the default site (30 articles, seed 1) shows every teaser shape at least twice.
VARIANT_SALT = 0x5EE_A175


def _link_to(target: Article, base: str = "") -> str:
    return link(base + target.path, target.title)


#: "See also" teasers: a paragraph (or a list) that is essentially one link to another
#: article of the site, in the wordings and shapes Vietnamese portals use. None is gold.
SEE_ALSO: dict[str, Callable[[Sequence[Article], str], str]] = {
    "xem-them": lambda t, base: f"<p>Xem thêm: {_link_to(t[0])}</p>",
    "arrows-xem-them": lambda t, base: f"<p>&gt;&gt;&gt; Xem thêm: {_link_to(t[0])}</p>",
    "guillemet": lambda t, base: f"<p>» {_link_to(t[0])}</p>",
    "strong-doc-them": lambda t, base: f"<p><strong>Đọc thêm:</strong> {_link_to(t[0])}</p>",
    "moi-xem": lambda t, base: f"<p>Mời xem: {_link_to(t[0])}</p>",
    "bare-link": lambda t, base: f"<p>{_link_to(t[0])}</p>",
    "em-arrows": lambda t, base: f"<p><em>&gt;&gt; {_link_to(t[0])}</em></p>",
    "tin-lien-quan": lambda t, base: f"<p>Tin liên quan: {_link_to(t[0])}</p>",
    # an absolute link to the same site, the whole line in bold
    "xem-tiep-absolute": lambda t, base: f"<p><strong>&gt;&gt; Xem tiếp: {_link_to(t[0], base)}</strong></p>",
    # the arrows inside the link
    "arrows-in-link": lambda t, base: (f'<p><a href="{attr(t[0].path)}"><strong>&gt;&gt;&gt; '
                                       f"{esc(t[0].title)}</strong></a></p>"),
    # a block of such links
    "list": lambda t, base: "<ul>" + "".join(f"<li>{_link_to(a)}</li>" for a in t) + "</ul>",
}
SEE_ALSO_SHAPES = tuple(SEE_ALSO)
#: Share of articles with a teaser besides the one the main generator places (if any).
MORE_TEASERS = 0.7
#: Shares of articles written without any <h1>, and with the lead as the real vov.vn writes it.
NO_H1_SHARE = 0.1
SUMMARY_H2_SHARE = 0.3


@dataclass(frozen=True)
class Layout:
    """How one article page is written; the gold text is the same whatever the layout.

    ``title_h1=False``: no ``<h1>`` anywhere, the title is only in ``og:title``, ``<title>``
    (``"<title> | VOV.VN"``), the JSON-LD ``headline`` and a plain ``span``.
    ``summary_h2=True``: the lead as the real vov.vn writes it, in
    ``div.row.article-summary > div.col > h2 > div`` ending in ``<br /><br />``.
    ``teasers``: None draws the "see also" shapes; a tuple forces them (each appears once).
    """

    title_h1: bool = True
    summary_h2: bool = False
    teasers: tuple[str, ...] | None = None


def variant_rng(article: Article) -> random.Random:
    return random.Random(article.id ^ VARIANT_SALT)


def page_layout(article: Article, specials: SpecialIds, rng: random.Random | None = None) -> Layout:
    """The layout the site serves ``article`` with (the specials guarantee one of each);
    the first draws of the article's variant generator."""
    rng = rng or variant_rng(article)
    no_h1 = rng.random() < NO_H1_SHARE
    summary_h2 = rng.random() < SUMMARY_H2_SHARE
    return Layout(title_h1=not (no_h1 or article.id == specials.no_h1),
                  summary_h2=summary_h2 or article.id == specials.summary_h2)


def see_also_html(shape: str, targets: Sequence[Article], base: str = "") -> str:
    return SEE_ALSO[shape](targets, base)


def _teaser_targets(shape: str, first: Article | None, pool: Sequence[Article],
                    rng: random.Random) -> list[Article]:
    others = [a for a in pool if a is not first]
    wanted = rng.randint(2, 3) if shape == "list" else 1
    chosen = [first] if first is not None else []
    return chosen + rng.sample(others, min(len(others), wanted - len(chosen)))


# --------------------------------------------------------------------------- article body and page

def text_long(article: Article, pool: Sequence[Article], rng: random.Random, *,
              layout: Layout = Layout(), variant: random.Random | None = None, base: str = "") -> str:
    """The article body: gold blocks interleaved with non-gold inserts."""
    variant = variant or variant_rng(article)
    last = len(article.blocks) - 1
    figure_at = 0 if rng.random() < 0.85 else -1
    ad_at = min(2, last)
    see_also_at = rng.randint(1, max(1, last)) if pool and rng.random() < 0.35 else -1
    relate_at = rng.randint(2, max(2, last)) if len(pool) >= 3 and rng.random() < 0.25 else -1
    if layout.teasers is None:
        main_shape = variant.choice(SEE_ALSO_SHAPES)
        more = [variant.choice(SEE_ALSO_SHAPES)] if variant.random() < MORE_TEASERS else []
    elif see_also_at != -1 and layout.teasers:
        main_shape, more = layout.teasers[0], list(layout.teasers[1:])
    else:
        main_shape, more = "", list(layout.teasers)
    extra: dict[int, list[str]] = {}
    for shape in more if pool else ():
        extra.setdefault(variant.randint(0, last), []).append(
            see_also_html(shape, _teaser_targets(shape, None, pool, variant), base))
    parts = []
    for index, block in enumerate(article.blocks):
        parts.append(block_html(block, rng))
        if index == figure_at:
            parts.append(figure_html(article))
        if index == ad_at:
            parts.append('<div class="ads-in-article" id="inread-ad"><script>/* inread */</script></div>')
        if index == see_also_at:
            other = rng.choice(pool)
            if main_shape:
                targets = _teaser_targets(main_shape, other, pool, variant)
                parts.append(see_also_html(main_shape, targets, base))
        if index == relate_at:
            parts.append(relate_box(rng.sample(pool, 3)))
        parts.extend(extra.get(index, ()))
    parts.append(author_html(article))
    return '<div class="text-long">\n' + "\n".join(parts) + "\n</div>"


def comment_box() -> str:
    return """<div class="article-comment"><h3>Viết bình luận</h3>
<form class="comment-form" action="/comment/reply" method="post"><textarea name="comment" placeholder="Bình luận của bạn"></textarea>
<input type="text" name="name" placeholder="Họ và tên"><input type="email" name="mail" placeholder="Email">
<button type="submit">Gửi bình luận</button></form>
<p>This site is protected by reCAPTCHA and the Google Privacy Policy and Terms of Service apply.</p></div>"""


def title_html(article: Article, layout: Layout) -> str:
    if layout.title_h1:
        return f'<div class="row article-title"><h1>{esc(article.title)}</h1></div>'
    return (f'<div class="row article-title"><div class="col"><span class="title">{esc(article.title)}</span>'
            "</div></div>")


def summary_html(article: Article, separator: str, layout: Layout) -> str:
    if layout.summary_h2:
        return (f'<div class="row article-summary mb-3">\n<div class="col">\n<h2 class="mb-0 mb-lg-2">\n'
                f"<div>VOV.VN {separator}{esc(article.lead)}<br />\n<br />\n</div>\n</h2>\n</div>\n</div>")
    return f'<div class="row article-summary">VOV.VN {separator}{esc(article.lead)}</div>'


def article_main(article: Article, catalog: Catalog, rng: random.Random, *,
                 layout: Layout = Layout(), variant: random.Random | None = None, base: str = "") -> str:
    pool = [a for a in catalog.common if a.id != article.id]
    same_category = [a for a in pool if a.category == article.category] or pool
    related = rng.sample(same_category, min(3, len(same_category)))
    separator = "-&nbsp;" if rng.random() < 0.5 else "- "
    social = " ".join(link(url, name) for name, url in list(SOCIAL_LINKS.items())[:3])
    tags = ", ".join(link(tag_path(tag), tag) for tag in article.tags)
    share = "https://www.facebook.com/sharer/sharer.php?u=" + quote(article.path, safe="")
    body = text_long(article, pool, rng, layout=layout, variant=variant, base=base)
    return f"""<article class="node node--type-article">
{title_html(article, layout)}
<div class="row article-meta"><div class="col-md-4 mb-2">{article.date_text}</div>
<div class="col-md-8 article-tools">{link(f"/print/{article.id}", "In bài", rel="nofollow")} {link(share, "Chia sẻ", rel="nofollow")}</div></div>
{summary_html(article, separator, layout)}
<div class="row article-content">
{body}
<div class="article-social">Mời quý độc giả theo dõi VOV.VN trên {social}</div>
<div class="article-tags">Từ khóa: {tags}</div>
{comment_box()}
{relate_box(related) if related else ""}
</div>
</article>"""


def article_page(article: Article, catalog: Catalog, base: str, layout: Layout | None = None) -> str:
    """The article as the site serves it; ``layout`` forces a variant (tests), else the
    site's own choice for this article (:func:`page_layout`)."""
    rng = random.Random(article.id)
    variant = variant_rng(article)
    chosen = page_layout(article, catalog.specials, variant)  # drawn first, forced or not
    layout = layout or chosen
    return page_shell(
        catalog, f"{article.title} | VOV.VN",
        article_main(article, catalog, rng, layout=layout, variant=variant, base=base),
        today=article.published.date(), active=article.category, head=article_head(article, base),
        rng=rng, exclude=article.id, charset=article.charset,
        body_class="path-node page-node-type-article", base=base,
    )


def oversized_page(article: Article, catalog: Catalog, base: str, layout: Layout | None = None) -> str:
    """A real article (with gold text) bloated past ``OVERSIZED_BYTES`` by inline data, as
    script-heavy portals ship it: a ``window.__VOV_STATE__`` string in the head (512 KiB)
    and a Next.js-style ``<script type="application/json" id="__NEXT_DATA__">`` before
    ``</body>`` (the rest, over 2 MiB) that repeats the article with the state of many others."""
    page = article_page(article, catalog, base, layout)
    rng = random.Random(f"oversized-{article.id}")
    state = base64.b64encode(rng.randbytes(384 * 1024)).decode("ascii")
    page = page.replace("</head>", f'<script>window.__VOV_STATE__ = "{state}";</script>\n</head>', 1)
    missing = OVERSIZED_BYTES - len(page.encode("utf-8")) + 4096
    data = json.dumps(next_data(article, catalog, rng, max(0, missing)), ensure_ascii=False,
                      separators=(",", ":")).replace("</", "<\\/")
    script = f'<script type="application/json" id="__NEXT_DATA__">{data}</script>\n</body>'
    return page.replace("</body>", script, 1)


def next_data(article: Article, catalog: Catalog, rng: random.Random, size: int) -> dict[str, object]:
    """A ``__NEXT_DATA__`` object of at least ``size`` bytes (UTF-8, compact JSON)."""
    story = {
        "id": article.id, "title": article.title, "summary": article.summary, "path": article.path,
        "body": "".join(f"<p>{block.html}</p>" for block in article.blocks),
        "published": article.published.isoformat(), "tags": list(article.tags),
    }
    cache: dict[str, object] = {}
    pool = [a for a in catalog.items if a.id != article.id] or [article]
    filled, number = len(json.dumps(story, ensure_ascii=False).encode("utf-8")) + 200, 0
    while filled < size:
        other = pool[number % len(pool)]
        thumb = "data:image/jpeg;base64," + base64.b64encode(rng.randbytes(12 * 1024)).decode("ascii")
        entry = {"id": other.id, "title": other.title, "sapo": other.lead, "thumb": thumb}
        cache[f"Article:{other.id}:{number}"] = entry
        filled += len(json.dumps(entry, ensure_ascii=False).encode("utf-8")) + 30
        number += 1
    return {"props": {"pageProps": {"article": story, "apolloState": cache}},
            "page": "/[category]/[slug]", "query": {"category": article.category, "slug": article.slug},
            "buildId": "vov-sample", "isFallback": False}

def print_page(article: Article) -> str:
    blocks = "\n".join(block_html(b, random.Random(0)) for b in article.blocks)
    body = (f"<h1>{esc(article.title)}</h1><p>{article.date_text}</p><p><strong>{esc(article.summary)}</strong></p>"
            f"{blocks}{author_html(article)}<script>window.print();</script>")
    return document(f"{article.title} | VOV.VN", body, head='<meta name="robots" content="noindex">\n')


# --------------------------------------------------------------------------- listings

def listing_item(article: Article) -> str:
    return f"""<div class="article-card">
<a href="{attr(article.path)}" class="thumb"><img src="{attr(article.image)}" alt="{attr(article.title)}"></a>
<h3 class="card-title">{link(article.path, article.title)}</h3>
<span class="card-date">{article.date_text}</span>
<p class="card-sapo">{esc(article.lead)}</p></div>"""


def pager(category: str, page: int, count: int) -> str:
    if count <= 1:
        return ""
    items: list[tuple[str, int]] = []
    if page > 0:
        items += [("« Đầu", 0), ("‹ Trước", page - 1)]
    items += [(str(number + 1), number) for number in range(max(0, page - 4), min(count, page + 5))]
    if page < count - 1:
        items += [("Sau ›", page + 1), ("Cuối »", count - 1)]
    lis = "".join(
        f'<li class="pager__item is-active"><span>{esc(label)}</span></li>' if number == page and label.isdigit()
        else f'<li class="pager__item">{link(f"/{category}?page={number}", label)}</li>'
        for label, number in items
    )
    return f'<nav class="pager" role="navigation"><ul class="pagination">{lis}</ul></nav>'


def listing_page(catalog: Catalog, category: str, page: int, base: str, extra: str = "") -> str:
    name = CATEGORIES.get(category) or MENU_ONLY_CATEGORIES[category]
    entries = catalog.listing_page(category, page)
    items = "\n".join(listing_item(a) for a in entries) or '<p class="empty">Chưa có bài viết.</p>'
    main = (f'<h1 class="category-title">{esc(name)}</h1>\n<div class="category-list">{items}</div>\n'
            f"{pager(category, page, catalog.page_count(category))}{extra}")
    head = f'<link rel="canonical" href="{attr(base)}/{category}{f"?page={page}" if page else ""}">\n'
    return page_shell(catalog, f"{name} | VOV.VN", main, today=catalog.updated.date(), active=category,
                      head=head, rng=random.Random(f"{category}-{page}"), base=base,
                      body_class="path-taxonomy")


def old_link_box(target: Article, redirect_path: str) -> str:
    return (f'<div class="box-old-news"><h2 class="box-title">Tin cũ</h2>'
            f'<div class="news-item">{link(redirect_path, target.title)}</div></div>')


def home_page(catalog: Catalog, base: str) -> str:
    common = catalog.common
    featured = "".join(listing_item(a) for a in common[:7])
    blocks = "".join(
        f'<section class="home-category"><h2>{link(f"/{slug}", name)}</h2>'
        + "".join(news_item(a) for a in [a for a in common if a.category == slug][:4])
        + "</section>"
        for slug, name in CATEGORIES.items()
    )
    main = f'<section class="highlight">{featured}</section>\n{blocks}'
    head = f'<link rel="canonical" href="{attr(base)}/">\n<meta property="og:title" content="Báo điện tử VOV">\n'
    return page_shell(catalog, "Báo điện tử VOV - Đài Tiếng nói Việt Nam", main, today=catalog.updated.date(),
                      head=head, rng=random.Random("home"), base=base, body_class="path-frontpage")


def tag_page(catalog: Catalog, name: str, base: str) -> str:
    entries = catalog.tag_members.get(name, ())[:20]
    items = "\n".join(listing_item(a) for a in entries) or '<p class="empty">Chưa có bài viết.</p>'
    main = f'<h1 class="tag-title">Từ khóa: {esc(name)}</h1>\n<div class="category-list">{items}</div>'
    return page_shell(catalog, f"{name} | VOV.VN", main, today=catalog.updated.date(),
                      rng=random.Random(name), base=base)


def static_page(catalog: Catalog, path: str, base: str) -> str:
    title, text = STATIC_PAGES[path]
    return page_shell(catalog, f"{title} | VOV.VN", f"<h1>{esc(title)}</h1><p>{esc(text)}</p>",
                      today=catalog.updated.date(), base=base, with_sidebar=False)


# --------------------------------------------------------------------------- traps

def calendar_page(catalog: Catalog, day: date) -> str:
    """Endless calendar: every day links to the previous and next day."""
    first = day.replace(day=1)
    month_days = []
    current = first
    while current.month == first.month:
        month_days.append(link(f"/lich?date={current.isoformat()}", str(current.day)))
        current += timedelta(days=1)
    main = (f"<h1>Lịch vạn niên {weekday_date(day)}</h1>"
            f'<div class="calendar-nav">{link(f"/lich?date={(day - timedelta(days=1)).isoformat()}", "‹ Hôm trước")} '
            f'{link(f"/lich?date={(day + timedelta(days=1)).isoformat()}", "Hôm sau ›")}</div>'
            f'<div class="calendar-grid">{" ".join(month_days)}</div>')
    return page_shell(catalog, f"Lịch vạn niên {day:%d/%m/%Y} | VOV.VN", main, today=day, with_sidebar=False)


def search_page(catalog: Catalog, query: str, page: int) -> str:
    """Search results; always offers a next page (another crawler trap)."""
    needle = query.casefold()
    hits = [a for a in catalog.common if needle and needle in a.title.casefold()][page * 10:(page + 1) * 10]
    items = "\n".join(listing_item(a) for a in hits) or '<p class="empty">Không tìm thấy kết quả phù hợp.</p>'
    next_href = "/tim-kiem?" + urlencode({"q": query, "page": page + 1})
    main = (f"<h1>Kết quả tìm kiếm: {esc(query)}</h1>\n{items}\n"
            f'<nav class="pager">{link(next_href, "Trang sau ›")}</nav>')
    return page_shell(catalog, f"Tìm kiếm: {query} | VOV.VN", main, today=catalog.updated.date(), with_sidebar=False)


def error_page(catalog: Catalog, status: int) -> str:
    title, text = {
        404: ("Không tìm thấy trang", "Trang bạn yêu cầu không tồn tại hoặc đã bị xóa."),
        500: ("Lỗi máy chủ", "Hệ thống đang gặp sự cố, xin vui lòng quay lại sau."),
    }[status]
    main = f'<div class="error-page"><h1>{status} - {esc(title)}</h1><p>{esc(text)}</p>{link("/", "Về trang chủ")}</div>'
    return page_shell(catalog, f"{title} | VOV.VN", main, today=catalog.updated.date(), with_sidebar=False)


# --------------------------------------------------------------------------- XML and text

def robots_txt(base: str) -> str:
    return ("User-agent: *\nDisallow: /tim-kiem\nDisallow: /print/\nDisallow: /lich\n"
            "Disallow: /admin/\nDisallow: /user/\n\n"
            f"Sitemap: {base}/sitemap.xml\n")


def sitemap_index(catalog: Catalog, base: str) -> str:
    entries = "".join(
        f"<sitemap><loc>{esc(base)}/sitemaps/{year}/{month}/article.xml</loc>"
        f"<lastmod>{max(a.lastmod for a in articles).isoformat()}</lastmod></sitemap>\n"
        for (year, month), articles in catalog.sitemaps.items()
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</sitemapindex>\n")


def urlset(articles: Iterable[Article], base: str) -> str:
    entries = "".join(
        f"<url><loc>{esc(base + a.path)}</loc><lastmod>{a.lastmod.isoformat()}</lastmod></url>\n"
        for a in articles
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{entries}</urlset>\n")


def rss_feed(catalog: Catalog, base: str, feed: str, utm_id: int | None = None) -> str:
    """``home`` (20 newest) or ``latest`` (10 newest); the ``utm_id`` item
    links with tracking parameters, as VOV's feeds do."""
    size, title, path = {
        "home": (FEED_SIZE, "Trang chủ", "/rss/home.rss"),
        "latest": (LATEST_FEED_SIZE, "Tin mới nhất 24h", "/rss/tin-moi-nhat-24h.rss"),
    }[feed]
    tracking = "?" + urlencode({"utm_source": "rss", "utm_medium": "feed"})
    items = "".join(
        rss_item(a, base + a.path + (tracking if a.id == utm_id else ""))
        for a in catalog.feed[:size]
    )
    built = email.utils.format_datetime(catalog.updated)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>\n'
            f"<title>VOV.VN - {esc(title)}</title><link>{esc(base)}/</link>"
            "<description>Báo điện tử VOV - Đài Tiếng nói Việt Nam</description><language>vi</language>\n"
            f'<atom:link href="{attr(base + path)}" rel="self" type="application/rss+xml"/>'
            f"<lastBuildDate>{built}</lastBuildDate>\n{items}</channel></rss>\n")


def rss_item(article: Article, url: str) -> str:
    description = f'<a href="{attr(url)}"><img src="{attr(article.image)}"></a>{esc(article.lead)}'
    return (f"<item><title>{esc(article.title)}</title><link>{esc(url)}</link>"
            f'<guid isPermaLink="true">{esc(url)}</guid><pubDate>{http_date_rfc822(article)}</pubDate>'
            f"<description><![CDATA[{description}]]></description></item>\n")


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n"
)

