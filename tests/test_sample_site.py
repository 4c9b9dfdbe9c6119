"""Tests of the VOV-style sample site used by the end-to-end crawl tests.

The end-to-end tests trust this site's gold texts and discovery layout, so
these tests pin them down over real HTTP on loopback: URL layout, robots,
sitemaps, feeds, the special pages, HTTP behaviour (gzip, chunked framing,
validators, 304), the windows-1258 page and the exact gold-text format.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

import lxml.html
import pytest

from tests.sample_site import SampleSite, decode_cp1258, encode_cp1258, serve
from tests.sample_site.content import GENERAL_SENTENCES, QUOTES, SENTENCES, SUBHEADINGS, TITLE_PARTS
from tests.sample_site.pages import SEE_ALSO, see_also_html

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
GOLD_RE = re.compile(r"[^\n]+\n\nVOV\.VN - [^\n]+(?:\n\n[^\n]+)+\n")
REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- helpers

@dataclass
class Fetched:
    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(self.headers.get_content_charset() or "utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Fetched:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with _OPENER.open(request, timeout=10) as response:
            return Fetched(url, response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(url, error.code, error.headers, error.read())


def raw_get(base_url: str, path: str, extra_headers: str = "") -> tuple[str, bytes]:
    """Send a request by hand and return (raw head, raw body) as sent."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                     f"{extra_headers}\r\n".encode())
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def dechunk(data: bytes) -> tuple[bytes, int]:
    """Decode chunked framing strictly; returns (payload, number of chunks)."""
    payload, count = [], 0
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            assert data == b"\r\n"
            return b"".join(payload), count
        payload.append(data[:size])
        assert data[size:size + 2] == b"\r\n"
        data, count = data[size + 2:], count + 1


def links(page_url: str, body: bytes) -> list[str]:
    doc = lxml.html.fromstring(body)
    return [urljoin(page_url, href) for href in doc.xpath("//a/@href")]


def path_of(url: str) -> str:
    """Path plus query without tracking parameters, as a crawler keys URLs."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")])
    return urlunsplit(("", "", parts.path, query, ""))


def sitemap_locs(base_url: str) -> dict[str, str]:
    """Every <loc> of every monthly sitemap -> its <lastmod>."""
    index = ElementTree.fromstring(fetch(base_url + "/sitemap.xml").body)
    entries = {}
    for loc in index.findall("sm:sitemap/sm:loc", SITEMAP_NS):
        urlset = ElementTree.fromstring(fetch(loc.text).body)
        for url in urlset.findall("sm:url", SITEMAP_NS):
            entries[path_of(url.findtext("sm:loc", namespaces=SITEMAP_NS))] = url.findtext(
                "sm:lastmod", namespaces=SITEMAP_NS)
    return entries


def feed_links(base_url: str, feed: str) -> list[str]:
    channel = ElementTree.fromstring(fetch(f"{base_url}/rss/{feed}").body).find("channel")
    return [item.findtext("link") for item in channel.findall("item")]


def link_graph(site: SampleSite, base_url: str) -> dict[str, set[str]]:
    """Breadth-first crawl of HTML pages from the homepage, never entering
    traps or other hosts: page -> same-host link targets (utm stripped)."""
    graph: dict[str, set[str]] = {}
    queue = ["/"]
    while queue:
        page = queue.pop()
        if page in graph:
            continue
        fetched = fetch(base_url + page)
        targets = set()
        if fetched.status == 200 and fetched.headers.get_content_type() == "text/html" and fetched.body:
            for url in links(base_url + page, fetched.body):
                if urlsplit(url).netloc == urlsplit(base_url).netloc:
                    targets.add(path_of(url))
        graph[page] = targets
        queue.extend(t for t in targets if t not in graph and not t.startswith(site.traps))
    return graph


def clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def is_teaser(element: lxml.html.HtmlElement) -> bool:
    """A paragraph or list that is essentially links to other articles of the site: the
    text outside its links is at most a short label ("Xem thêm:", ">>>", "»", ...)."""
    text = clean(element.text_content())
    links = [clean(a.text_content()) for a in element.iter("a")
             if re.search(r"-post\d+\.vov$", a.get("href", ""))]
    rest = text
    for linked in links:
        rest = rest.replace(linked, "", 1)
    return bool(links) and len(rest) <= 20


def reference_extract(html_text: str) -> str:
    """A perfect extractor for this site's markup (test oracle for the gold)."""
    doc = lxml.html.fromstring(html_text)
    heading = doc.xpath('//div[contains(@class, "article-title")]/h1')
    title = heading[0].text_content() if heading else doc.xpath('//meta[@property="og:title"]/@content')[0]
    parts = [clean(title), clean(doc.xpath('//div[contains(@class, "article-summary")]')[0].text_content())]
    for child in doc.xpath('//div[@class="text-long"]')[0]:
        text = clean(child.text_content())
        if child.tag == "h2" or child.tag == "blockquote":
            parts.append(text)
        elif child.tag == "p" and not (child.get("class") == "author" or "right" in (child.get("style") or "")
                                       or is_teaser(child)):
            parts.append(text)
        elif child.tag == "ul" and not is_teaser(child):
            parts.extend(clean(item.text_content()) for item in child.iter("li"))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- fixtures



@pytest.fixture(scope="module")
def graph(site: SampleSite, base_url: str) -> dict[str, set[str]]:
    return link_graph(site, base_url)


# --------------------------------------------------------------------------- discovery

def test_robots_txt(base_url: str) -> None:
    response = fetch(base_url + "/robots.txt")
    assert response.status == 200
    lines = response.text.splitlines()
    assert "User-agent: *" in lines
    for rule in ("Disallow: /tim-kiem", "Disallow: /print/", "Disallow: /lich"):
        assert rule in lines
    assert f"Sitemap: {base_url}/sitemap.xml" in lines


def test_sitemap_index_lists_three_monthly_sitemaps(base_url: str) -> None:
    index = ElementTree.fromstring(fetch(base_url + "/sitemap.xml").body)
    entries = index.findall("sm:sitemap", SITEMAP_NS)
    locs = [e.findtext("sm:loc", namespaces=SITEMAP_NS) for e in entries]
    assert locs == [f"{base_url}/sitemaps/2024/{month}/article.xml" for month in (3, 4, 5)]
    for entry in entries:
        assert entry.findtext("sm:lastmod", namespaces=SITEMAP_NS).endswith("+07:00")


def test_monthly_sitemaps_urls_and_lastmod(site: SampleSite, base_url: str) -> None:
    entries = sitemap_locs(base_url)
    roles = site.paths_by_role()
    expected = {p for role in ("common", "sitemap_only", "oversized", "empty", "non_html", "server_error")
                for p in roles[role]}
    assert set(entries) == expected
    for lastmod in entries.values():
        assert re.fullmatch(r"2024-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", lastmod)


def test_other_months_give_empty_urlset_and_bad_paths_404(base_url: str) -> None:
    empty = fetch(base_url + "/sitemaps/2023/11/article.xml")
    assert empty.status == 200
    assert ElementTree.fromstring(empty.body).findall("sm:url", SITEMAP_NS) == []
    assert fetch(base_url + "/sitemaps/2024/05/article.xml").status == 404
    assert fetch(base_url + "/sitemaps/2024/13/article.xml").status == 404


def test_feeds(site: SampleSite, base_url: str) -> None:
    home, latest = feed_links(base_url, "home.rss"), feed_links(base_url, "tin-moi-nhat-24h.rss")
    assert len(home) == 20 and len(latest) == 10
    assert [path_of(u) for u in latest] == [path_of(u) for u in home[:10]]
    assert base_url + site.special["utm_duplicate"] in home
    channel = ElementTree.fromstring(fetch(base_url + "/rss/home.rss").body).find("channel")
    dates = [parsedate_to_datetime(item.findtext("pubDate")) for item in channel.findall("item")]
    assert dates == sorted(dates, reverse=True)


def test_every_gold_article_is_discoverable(site: SampleSite, base_url: str, graph: dict[str, set[str]]) -> None:
    linked = {t for targets in graph.values() for t in targets}
    feeds = {path_of(u) for f in ("home.rss", "tin-moi-nhat-24h.rss") for u in feed_links(base_url, f)}
    union = linked | set(sitemap_locs(base_url)) | feeds
    assert set(site.gold_texts()) <= union
    assert set(site.special.values()) - {site.special["utm_duplicate"]} <= union


def test_exclusive_discovery_paths(site: SampleSite, base_url: str, graph: dict[str, set[str]]) -> None:
    roles = site.paths_by_role()
    in_sitemap = set(sitemap_locs(base_url))
    in_feeds = {path_of(u) for u in feed_links(base_url, "home.rss")}
    linked_from = {}
    for page, targets in graph.items():
        for target in targets:
            linked_from.setdefault(target, set()).add(page)
    assert len(roles["sitemap_only"]) >= 2 and len(roles["listing_only"]) >= 2 and len(roles["rss_only"]) >= 2
    for path in roles["sitemap_only"]:
        assert path in in_sitemap and path not in in_feeds and path not in linked_from
    for path in roles["rss_only"]:
        assert path in in_feeds and path not in in_sitemap and path not in linked_from
    for path in roles["listing_only"]:
        assert path not in in_sitemap and path not in in_feeds
        pages = linked_from[path]
        assert pages and all(re.fullmatch(r"/the-gioi\?page=([2-9]|\d\d+)", page) for page in pages), pages
    not_found = site.special["not_found"]
    assert linked_from[not_found] and all(urlsplit(p).path == f"/{not_found.split('/')[1]}"
                                          for p in linked_from[not_found])
    assert site.special["redirect"] in {t for p, ts in graph.items() if urlsplit(p).path.count("/") == 1 for t in ts}


def test_crawl_of_links_never_needs_a_trap(site: SampleSite, graph: dict[str, set[str]]) -> None:
    linked = {t for targets in graph.values() for t in targets}
    for prefix in site.traps:
        assert any(t.startswith(prefix) for t in linked), prefix  # traps are linked...
    assert not any(page.startswith(site.traps) for page in graph)  # ...but were not needed
    assert all(re.fullmatch(r"/[a-z-]+/[a-z0-9-]+-post\d{7}\.vov", p) for p in site.gold_texts())


# --------------------------------------------------------------------------- HTTP behaviour

def test_gzip_negotiation(base_url: str) -> None:
    plain = fetch(base_url + "/")
    packed = fetch(base_url + "/", {"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) == len(packed.body) < len(plain.body)
    assert gzip.decompress(packed.body) == plain.body
    assert packed.headers["Vary"] == "Accept-Encoding"
    xml = fetch(base_url + "/sitemap.xml", {"Accept-Encoding": "gzip"})
    assert xml.headers["Content-Encoding"] == "gzip" and gzip.decompress(xml.body).startswith(b"<?xml")
    refused = fetch(base_url + "/", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_rss_is_sent_chunked(base_url: str) -> None:
    head, body = raw_get(base_url, "/rss/home.rss")
    assert "transfer-encoding: chunked" in head.lower() and "content-length" not in head.lower()
    payload, chunks = dechunk(body)
    assert chunks >= 2
    assert len(ElementTree.fromstring(payload).findall("channel/item")) == 20
    head, body = raw_get(base_url, "/rss/home.rss", "Accept-Encoding: gzip\r\n")
    assert gzip.decompress(dechunk(body)[0]) == payload
    head, _ = raw_get(base_url, "/robots.txt")
    assert "content-length:" in head.lower() and "chunked" not in head.lower()


def test_redirect_404_500(site: SampleSite, base_url: str) -> None:
    moved = fetch(base_url + site.special["redirect"])
    assert moved.status == 301 and moved.headers["Location"] == base_url + site.redirect_target
    gone = fetch(base_url + site.special["not_found"])
    assert gone.status == 404 and gone.headers.get_content_type() == "text/html" and b"404" in gone.body
    assert fetch(base_url + "/khong-ton-tai").status == 404
    for _ in range(2):
        assert fetch(base_url + site.special["server_error"]).status == 500


def test_non_html_empty_and_oversized(site: SampleSite, base_url: str) -> None:
    pdf = fetch(base_url + site.special["non_html"])
    assert pdf.status == 200 and pdf.headers.get_content_type() == "application/pdf"
    assert pdf.body.startswith(b"%PDF-") and pdf.body.rstrip().endswith(b"%%EOF")
    empty = fetch(base_url + site.special["empty"], {"Accept-Encoding": "gzip"})
    assert empty.status == 200 and empty.body == b"" and empty.headers["Content-Length"] == "0"
    assert empty.headers.get_content_type() == "text/html"
    assert site.expected_failures() == {site.special["empty"]: "empty", site.special["non_html"]: "not_html"}
    assert not set(site.expected_failures()) & set(site.gold_texts())


def test_the_oversized_page_is_a_real_article_bloated_by_inline_data(site: SampleSite, base_url: str) -> None:
    """Over 3 MiB, nearly all of it inline script data (a state string and a JSON blob);
    without it the page is an ordinary article, and its text is gold like any other."""
    path = site.special["oversized"]
    big = fetch(base_url + path)
    assert big.status == 200 and len(big.body) >= 3 * 1024 * 1024
    assert path in site.gold_texts() and path not in site.expected_failures()
    assert reference_extract(big.text) == site.gold_texts()[path]
    doc = lxml.html.fromstring(big.body)
    [state] = doc.xpath("//head/script[starts-with(normalize-space(.), 'window.__VOV_STATE__')]")
    [data] = doc.xpath('//body/script[@type="application/json"][@id="__NEXT_DATA__"]')
    assert len(state.text) > 256 * 1024 and len(data.text.encode()) > 2 * 1024 * 1024
    story = json.loads(data.text)["props"]["pageProps"]["article"]
    assert story["title"] == site.article(path).title  # the blob repeats the article
    for script in (state, data):
        script.drop_tree()
    assert len(lxml.html.tostring(doc)) < 256 * 1024


def test_conditional_requests_and_head(site: SampleSite, base_url: str) -> None:
    url = base_url + site.articles[5].path
    first = fetch(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    assert parsedate_to_datetime(modified) == site.articles[5].lastmod
    not_modified = fetch(url, {"If-None-Match": etag})
    assert not_modified.status == 304 and not_modified.body == b""
    assert not_modified.headers["ETag"] == etag
    assert fetch(url, {"If-Modified-Since": modified}).status == 304
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status == 200
    assert fetch(url, {"If-None-Match": '"other"', "If-Modified-Since": modified}).status == 200
    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(first.body)) and head.headers["ETag"] == etag


def test_utm_variant_serves_the_same_article(site: SampleSite, base_url: str) -> None:
    tracked = fetch(base_url + site.special["utm_duplicate"])
    clean_url = base_url + site.special["utm_duplicate"].split("?")[0]
    assert tracked.body == fetch(clean_url).body
    canonical = lxml.html.fromstring(tracked.body).xpath('//link[@rel="canonical"]/@href')
    assert canonical == [clean_url]


def test_trap_pages(site: SampleSite, base_url: str) -> None:
    day = fetch(base_url + "/lich?date=2024-05-14")
    assert day.status == 200
    targets = set(links(base_url + "/lich", day.body))
    assert {base_url + "/lich?date=2024-05-13", base_url + "/lich?date=2024-05-15"} <= targets
    search = fetch(base_url + "/tim-kiem?q=Th%E1%BB%A7+t%C6%B0%E1%BB%9Bng")
    assert search.status == 200 and any("page=1" in u for u in links(base_url, search.body))
    assert fetch(f"{base_url}/print/{site.articles[0].id}").status == 200
    assert {"www.facebook.com", "www.youtube.com", "zalo.me", "mitom1.tv"} <= site.offsite_hosts


def test_request_log_shows_trap_visits() -> None:
    small = SampleSite(n_articles=5)
    with serve(small) as url:
        fetch(url + "/")
        fetch(url + "/lich?date=2024-05-01")
    assert [r.path for r in small.requests] == ["/", "/lich"]
    assert [r.target for r in small.trap_requests()] == ["/lich?date=2024-05-01"]


# --------------------------------------------------------------------------- gold text

def test_gold_text_format(site: SampleSite) -> None:
    gold = site.gold_texts()
    assert len(gold) == 31 == len(site.articles)  # 30 articles and the oversized page
    for path, text in gold.items():
        assert GOLD_RE.fullmatch(text), path
        assert unicodedata.is_normalized("NFC", text)
        assert "\n\n\n" not in text and "  " not in text and "\xa0" not in text
        assert all(line == line.strip() for line in text.split("\n"))
        article = site.article(path)
        assert text.startswith(f"{article.title}\n\nVOV.VN - {article.lead}\n\n")
        assert 4 <= sum(b.kind == "p" for b in article.blocks) <= 9


def test_titles_leads_and_texts_are_distinct(site: SampleSite) -> None:
    for attribute in ("title", "lead", "slug"):
        values = [getattr(a, attribute) for a in site.articles]
        assert len(set(values)) == len(values), attribute


def test_served_html_matches_gold(site: SampleSite, base_url: str) -> None:
    gold = site.gold_texts()
    for path in gold:
        if path == site.special["legacy_charset"]:
            continue
        page = fetch(base_url + path)
        assert reference_extract(page.text) == gold[path], path


def test_markup_exercises_the_extractor(site: SampleSite) -> None:
    htmls = [b.html for a in site.articles for b in a.blocks]
    for needle in ("&nbsp;", "<strong>", "<em>", "<a href="):
        assert any(needle in h for h in htmls), needle
    kinds = {b.kind for a in site.articles for b in a.blocks}
    assert kinds == {"p", "h2", "quote"}


# The "see also" wordings and shapes the issue names, as the served markup writes them.
TEASER_FORMS = {
    "xem-them": r"<p>Xem thêm: <a href=\"/[^\"]+\">[^<]+</a></p>",
    "arrows-xem-them": r"<p>&gt;&gt;&gt; Xem thêm: <a href=\"/[^\"]+\">[^<]+</a></p>",
    "guillemet": r"<p>» <a href=\"/[^\"]+\">[^<]+</a></p>",
    "strong-doc-them": r"<p><strong>Đọc thêm:</strong> <a href=\"/[^\"]+\">[^<]+</a></p>",
    "moi-xem": r"<p>Mời xem: <a href=\"/[^\"]+\">[^<]+</a></p>",
    "bare-link": r"<p><a href=\"/[^\"]+-post\d+\.vov\">[^<]+</a></p>",
    "em-arrows": r"<p><em>&gt;&gt; <a href=\"/[^\"]+\">[^<]+</a></em></p>",
    "tin-lien-quan": r"<p>Tin liên quan: <a href=\"/[^\"]+\">[^<]+</a></p>",
    "xem-tiep-absolute": r"<p><strong>&gt;&gt; Xem tiếp: <a href=\"http://[^\"]+\">[^<]+</a></strong></p>",
    "arrows-in-link": r"<p><a href=\"/[^\"]+\"><strong>&gt;&gt;&gt; [^<]+</strong></a></p>",
    "list": r"<ul>(?:<li><a href=\"/[^\"]+\">[^<]+</a></li>){2,3}</ul>",
}


def test_teasers_come_in_every_wording_and_shape(site: SampleSite, base_url: str) -> None:
    """Each shape of pages.SEE_ALSO is served at least twice on the default site; none is gold."""
    assert set(TEASER_FORMS) == set(SEE_ALSO)
    found = {shape: 0 for shape in TEASER_FORMS}
    for path in site.gold_texts():
        if path == site.special["legacy_charset"]:
            continue
        page = fetch(base_url + path).text
        body = page[page.index('<div class="text-long">'):page.index('<div class="article-social">')]
        for shape, form in TEASER_FORMS.items():
            found[shape] += len(re.findall(form, body))
    assert min(found.values()) >= 2, found


def test_teasers_link_to_articles_of_the_site(site: SampleSite) -> None:
    targets = [site.articles[1], site.articles[2], site.articles[3]]
    for shape in SEE_ALSO:
        html_text = see_also_html(shape, targets[:3 if shape == "list" else 1], "http://127.0.0.1:1")
        element = lxml.html.fragment_fromstring(html_text)
        hrefs = [urlsplit(a.get("href")).path for a in element.iter("a")]
        assert hrefs and set(hrefs) <= {a.path for a in targets}, shape
        assert is_teaser(element), shape


def test_some_gold_paragraphs_hold_a_link_inside_their_text(site: SampleSite) -> None:
    """Genuine paragraphs that merely contain a link (a place name linked to its keyword page)."""
    linked = [b for a in site.articles for b in a.blocks if b.kind == "p" and "<a href=" in b.html]
    assert len(linked) >= 5
    for block in linked:
        element = lxml.html.fragment_fromstring(f"<p>{block.html}</p>")
        assert not is_teaser(element)
        [anchor] = element.iter("a")
        assert len(clean(anchor.text_content())) * 4 < len(block.text)


def test_pages_without_h1_and_leads_in_h2(site: SampleSite, base_url: str) -> None:
    """Some articles have no <h1> at all (the title only in og:title, <title> and JSON-LD);
    some write the lead as the real vov.vn does (div.row.article-summary > div.col > h2 > div)."""
    specials = site.catalog.specials
    no_h1 = site.paths_with_layout(title_h1=False)
    in_h2 = site.paths_with_layout(summary_h2=True)
    assert site.catalog.by_id[specials.no_h1].path in no_h1 and 2 <= len(no_h1) < len(site.articles) / 2
    assert site.catalog.by_id[specials.summary_h2].path in in_h2 and 2 <= len(in_h2) < len(site.articles) / 2
    for path in no_h1:
        article = site.article(path)
        page = fetch(base_url + path)
        doc = lxml.html.fromstring(page.body)
        assert doc.xpath("//h1") == [] and b"<h1" not in page.body
        assert doc.xpath('//meta[@property="og:title"]/@content') == [article.title]
        assert clean(doc.findtext(".//title")) == f"{article.title} | VOV.VN"
        [ld] = doc.xpath('//script[@type="application/ld+json"]')
        assert json.loads(ld.text)["headline"] == article.title
    for path in in_h2:
        doc = lxml.html.fromstring(fetch(base_url + path).body)
        [lead] = doc.cssselect("div.row.article-summary > div.col > h2 > div")
        assert clean(lead.text_content()) == site.article(path).summary
        assert len(lead.findall("br")) == 2


def test_legacy_charset_page(site: SampleSite, base_url: str) -> None:
    path = site.special["legacy_charset"]
    page = fetch(base_url + path)
    assert page.headers["Content-Type"] == "text/html; charset=windows-1258"
    assert b'<meta charset="windows-1258">' in page.body
    with pytest.raises(UnicodeDecodeError):
        page.body.decode("utf-8")
    assert reference_extract(decode_cp1258(page.body)) == site.gold_texts()[path]


def test_encode_cp1258_round_trip(site: SampleSite) -> None:
    assert encode_cp1258("Việt") == b"Vi\xea\xf2t"  # ê precomposed + combining dot below
    assert encode_cp1258("đường") == b"\xf0\xfd\xf5\xccng"  # ờ = ơ + combining grave
    texts = [*site.gold_texts().values(), *GENERAL_SENTENCES, *QUOTES, *SUBHEADINGS,
             *(s for bank in SENTENCES.values() for s in bank),
             *(part for parts in TITLE_PARTS.values() for subject, _, actions in parts for part in (subject, *actions))]
    for text in texts:
        assert decode_cp1258(encode_cp1258(text)) == unicodedata.normalize("NFC", text)
    with pytest.raises(UnicodeEncodeError):
        encode_cp1258("漢")
    assert encode_cp1258("漢", "xmlcharrefreplace") == b"&#28450;"


def test_deterministic(site: SampleSite) -> None:
    assert SampleSite(n_articles=30).gold_texts() == site.gold_texts()
    assert SampleSite(n_articles=30, seed=2).gold_texts() != site.gold_texts()


# --------------------------------------------------------------------------- changes and scale

def test_add_change_delete() -> None:
    site = SampleSite(n_articles=30, seed=7)
    with serve(site) as url:
        victim, changed = site.articles[3].path, site.articles[4].path
        before = fetch(url + changed)
        old_lastmod = sitemap_locs(url)[changed]
        added = site.add_articles(2)
        assert [path_of(u) for u in feed_links(url, "home.rss")[:2]] == [a.path for a in reversed(added)]
        assert {a.path for a in added} <= set(sitemap_locs(url)) and len(site.gold_texts()) == 33
        article = site.change_article(changed)
        assert site.gold_texts()[changed].endswith(article.paragraphs[-1] + "\n")
        after = fetch(url + changed, {"If-None-Match": before.headers["ETag"]})
        assert after.status == 200 and after.headers["ETag"] != before.headers["ETag"]
        assert sitemap_locs(url)[changed] > old_lastmod
        month = site.article(victim).published
        month_url = f"{url}/sitemaps/{month.year}/{month.month}/article.xml"
        month_before, listing_before = fetch(month_url), fetch(url + "/the-gioi")
        site.delete_article(victim)
        assert fetch(url + victim).status == 404
        assert victim not in site.gold_texts() and victim not in sitemap_locs(url)
        for before_delete in (month_before, listing_before):  # validators move on
            again = fetch(before_delete.url, {"If-Modified-Since": before_delete.headers["Last-Modified"]})
            assert again.status == 200


def test_large_site_builds_quickly() -> None:
    site = SampleSite(n_articles=2000)
    assert len(site.gold_texts()) == 2001
    assert len({a.title for a in site.articles}) == 2001
    catalog = site.catalog
    months = {(a.published.year, a.published.month) for a in site.articles}
    assert months == {(2024, 3), (2024, 4), (2024, 5)}
    listing_only = set(site.paths_by_role()["listing_only"])
    deep = {a.path for p in range(2, catalog.page_count("the-gioi")) for a in catalog.listing_page("the-gioi", p)}
    assert listing_only <= deep
    assert site.respond("/the-gioi?page=50", "http://127.0.0.1:1").status == 200


def test_command_line_prints_base_url_first() -> None:
    process = subprocess.Popen([sys.executable, "-m", "tests.sample_site", "--port", "0", "--articles", "5"],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base_url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        assert fetch(base_url + "/robots.txt").status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0
    assert process.stderr.read() == ""  # quiet: no per-request log lines
