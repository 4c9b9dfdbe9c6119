"""An article's title from a page title that also names the site ("Headline | Site").

Pages state their headline in many places (the profile's selector, og:title, JSON-LD,
`<title>`, the first `h1`); `crawler.extraction.metadata` tries them in that order. Only
the document title and social titles carry the site's name around the headline, written
with a separator: this module takes it off, by the names the page gives for itself
(og:site_name, application-name, JSON-LD publisher) and by its host name. A separator
inside the headline itself ("Biden - Putin summit") is left alone unless a known name
or, for the `<title>`, the page's `h1` shows where the headline ends.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# A separator between the headline and the site's name: spaces on both sides, so that
# "Covid-19" or "2024–2025" inside a headline is never cut.
SEPARATOR = re.compile(r"\s+(?:[|\-–—·•»~]|::)\s+")
# A site's name is at most this many words.
NAME_WORDS = 4
# Parts of a host name that are not the site's name.
HOST_NOISE = frozenset({"www", "m", "amp", "com", "net", "org", "vn", "co", "uk", "de", "fr", "news",
                        "edu", "gov"})


# A part with no spaces and a dot before a top-level domain: "BaoMau.vn", "example.co.uk".
HOST_LIKE = re.compile(r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}", re.IGNORECASE)


def key(text: str) -> str:
    """Letters and digits only, case and accents folded: "VOV.VN", "vov vn" and "Báo Mẫu"
    against a host's "baomau" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("đ", "d"))
    return re.sub(r"\W+|_", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


def site_name_keys(names: Iterable[str], host: str | None) -> frozenset[str]:
    keys = {key(name) for name in names}
    if host:
        labels = [label for label in host.lower().split(".") if label not in HOST_NOISE]
        keys.update(labels)
        keys.add(key(host))
    return frozenset(k for k in keys if len(k) >= 2)


def names_the_site(part: str, site_keys: frozenset[str]) -> bool:
    """A title part that is the site's name, or a name with a few words around it
    ("Báo điện tử VOV", "VnExpress - Tin nhanh")."""
    part_key = key(part)
    if not part_key or HOST_LIKE.fullmatch(part.strip()):
        return True
    return any(site == part_key or (site in part_key and len(part_key) <= 2 * len(site) + 12)
               for site in site_keys)


def without_site_name(title: str, site_keys: frozenset[str], headline_hint: str = "") -> str:
    """The title with leading and trailing parts that name the site removed. When the page's
    `h1` (headline_hint) is one or more whole parts of the title, that is the headline."""
    parts = SEPARATOR.split(title)
    if len(parts) == 1:
        return title
    if _is_headline_of(headline_hint, title, site_keys):
        return headline_hint
    while len(parts) > 1 and names_the_site(parts[-1], site_keys):
        parts.pop()
    while len(parts) > 1 and names_the_site(parts[0], site_keys):
        parts.pop(0)
    if len(parts) > 1 and _looks_like_a_name(parts[-1], parts[:-1]):
        parts.pop()
    return _rejoined(title, parts)


def _looks_like_a_name(last: str, rest: list[str]) -> bool:
    """A short last part after a much longer headline ("... nội đô - Tin Hà Nội"): the site's
    name even where the page never states it. "Biden - Putin summit" keeps its parts."""
    last_words = len(key_words(last))
    rest_words = sum(len(key_words(part)) for part in rest)
    return last_words <= NAME_WORDS and rest_words >= max(4, 2 * last_words)


def key_words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def _is_headline_of(hint: str, title: str, site_keys: frozenset[str]) -> bool:
    """The h1 is most of the title and not the site's own name (some sites put their
    logo in an h1)."""
    hint_key, title_key = key(hint), key(title)
    return (len(hint_key) >= 0.4 * len(title_key) and hint_key in title_key
            and not names_the_site(hint, site_keys))


def _rejoined(title: str, parts: list[str]) -> str:
    """The span of the original title from the first kept part to the last (the
    separators between them as written)."""
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end] if 0 <= start < end else " ".join(parts)
