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
from collections.abc import Iterable

from crawler.extraction.text import key, words

# A separator between the headline and the site's name: spaces on both sides, so that
# "Covid-19" or "2024–2025" inside a headline is never cut.
SEPARATOR = re.compile(r"\s+(?:[|\-–—·•»~]|::)\s+")
# A site's name is at most this many words.
NAME_WORDS = 4
# Parts of a host name that are not the site's name.
HOST_NOISE = frozenset({"www", "m", "amp", "com", "net", "org", "vn", "co", "uk", "de", "fr", "news",
                        "edu", "gov"})


# A part with no spaces and a dot before a top-level domain: "BaoMau.vn", "example.co.uk"
# (not "Node.js": a host ends in letters only, after a label of two or more).
HOST_LIKE = re.compile(r"[\w-]{2,}(?:\.[\w-]+)*\.(?:[a-z]{2}|com|net|org|info|news|online)", re.IGNORECASE)


def site_name_keys(names: Iterable[str], host: str | None) -> frozenset[str]:
    keys = {key(name) for name in names}
    if host:
        labels = [label for label in host.lower().split(".") if label not in HOST_NOISE]
        keys.update(key(label) for label in labels)  # "bao-mau" reads as "baomau"
        keys.add(key(host))
    return frozenset(k for k in keys if len(k) >= 2)


def names_the_site(part: str, site_keys: frozenset[str]) -> bool:
    """A title part that is the site's name, or a short part with the name as one of its
    words ("Báo điện tử VOV"); never a word that merely contains it ("Vovinam", "Amazing")."""
    part_key = key(part)
    if not part_key or HOST_LIKE.fullmatch(part.strip()):
        return True
    part_words = {key(word) for word in words(part)}
    return part_key in site_keys or (len(part_words) <= NAME_WORDS + 2 and bool(part_words & site_keys))


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
    """A short, capitalised last part after a much longer headline ("... nội đô - Tin Hà
    Nội"): the site's name even where the page never states it. Not a numbered part ("Kỳ
    2", "Part 3"), not a lower-case word ("- again"); "Biden - Putin summit" keeps its parts."""
    last_words = words(last)
    rest_words = sum(len(words(part)) for part in rest)
    return (0 < len(last_words) <= NAME_WORDS and rest_words >= max(4, 2 * len(last_words))
            and last_words[0][0].isupper() and not any(word.isdigit() for word in last_words))


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
