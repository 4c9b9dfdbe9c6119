"""canonical_url's shortcut (ALREADY_CANONICAL) returns exactly what the full path would, for
URLs built from every kind of piece a link may hold."""

from __future__ import annotations

import random

from w3lib.url import canonicalize_url

from crawler.urls import ALREADY_CANONICAL, canonical_url

SCHEMES = ["http", "https", "HTTP", "ftp"]
HOSTS = ["vov.vn", "Vov.VN", "127.0.0.1", "127.0.0.1:8080", "vov.vn:80", "vov.vn:080", "vov.vn:0",
         "vov.vn:1", "vov.vn:65535", "vov.vn:65536", "vov.vn:33783", "vov.vn:99999", "vov.vn.",
         "a" * 64 + ".vn", "xn--vit-nam-8ya.vn", "việt.vn", "-.vn", "a..vn", ""]
SEGMENTS = ["xa-hoi", "bai-viet-post123.vov", ".", "..", ".hidden", "~user", "a b", "%41", "%2F",
            "việt", "", "a_b.c", "UPPER", "x!y", "x;y", "x:y", "x@y", "x'y", "x(y)"]
TAILS = ["", "?", "?b=2&a=1", "#top", "?utm_source=x", "#"]


def slow(url: str) -> str:
    return canonicalize_url(url, keep_fragments=False)


def test_the_shortcut_agrees_with_the_full_canonicalization() -> None:
    rng = random.Random(7)
    taken = 0
    for _ in range(20_000):
        path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(0, 4)))
        url = f"{rng.choice(SCHEMES)}://{rng.choice(HOSTS)}/{path}{rng.choice(TAILS)}"
        if ALREADY_CANONICAL.fullmatch(url):
            taken += 1
            try:
                assert slow(url) == url, url
            except ValueError:  # w3lib refuses it: then so must the shortcut
                raise AssertionError(f"{url} taken by the shortcut, refused by w3lib") from None
    assert taken > 100  # plain links do take it


def test_a_site_link_takes_the_shortcut_and_others_do_not() -> None:
    assert canonical_url("https://vov.vn/xa-hoi/bai-viet-post123.vov") == \
        "https://vov.vn/xa-hoi/bai-viet-post123.vov"
    assert canonical_url("https://vov.vn/a/./b#x") == "https://vov.vn/a/b"
    assert canonical_url("https://VOV.vn/x?utm_source=y&b=1&a=2", ("utm_*",)) == \
        "https://vov.vn/x?a=2&b=1"
