"""Planning of the sample site: dates, ids, categories and *who links to what*.

A crawler for vov.vn has to combine several discovery paths, because the real
site does not expose every article everywhere.  To test that, each generated
item gets a ``role``:

``common``
    in the sitemap, the category listing, the RSS feeds if recent, and linked
    from page chrome (sidebars, related boxes, homepage, keyword pages);
``sitemap_only`` / ``listing_only`` / ``rss_only``
    reachable from exactly one source (``listing_only`` articles are the
    oldest "Thế giới" articles, so they sit on listing page 2 or deeper);
``oversized``
    a real article (with gold text) listed only in a sitemap, served bloated past
    3 MiB by inline script data (an extractor must still get its text);
``empty`` / ``non_html`` / ``server_error``
    article-pattern URLs listed only in a sitemap, served abnormally;
``not_found``
    an article-pattern URL listed in a category listing whose page is gone.

Exclusive roles are only assigned when the site is large enough (about 24
articles); smaller sites make every real article ``common``.

A :class:`Catalog` is an immutable snapshot with the indexes the renderer
needs; the site swaps in a new one on every change.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .content import CATEGORIES, VN_TZ, Article, ArticleWriter, tag_id

START = datetime(2024, 3, 1, 6, 0, tzinfo=VN_TZ)
END = datetime(2024, 5, 31, 22, 0, tzinfo=VN_TZ)
FIRST_ID = 1000101
PAGE_SIZE = 6
FEED_SIZE = 20
LATEST_FEED_SIZE = 10
RSS_ONLY_RANKS = (11, 16)
LASTMOD_DELAYS = tuple(timedelta(minutes=m) for m in (0, 0, 0, 10, 45, 180, 1440))

STUB_ROLES = ("oversized", "empty", "non_html", "server_error", "not_found")
GOLD_ROLES = frozenset({"common", "sitemap_only", "listing_only", "rss_only", "oversized"})
FEED_ROLES = frozenset({"common", "rss_only"})
LISTING_ROLES = frozenset({"common", "listing_only", "not_found"})
SITEMAP_ROLES = frozenset({"common", "sitemap_only", "oversized", "empty", "non_html", "server_error"})


@dataclass(frozen=True)
class SpecialIds:
    """Ids of real articles that also play a special part (``no_h1`` and ``summary_h2``:
    articles surely served with that layout, see :class:`.pages.Layout`)."""

    legacy_charset: int
    utm_duplicate: int
    redirect: int
    no_h1: int = 0
    summary_h2: int = 0


def plan_roles(n_articles: int, rng: random.Random) -> list[str]:
    """Role per rank (0 = newest) for ``n_articles`` real articles + stubs."""
    total = n_articles + len(STUB_ROLES)
    roles = ["common"] * total
    k_listing = max(2, round(0.03 * n_articles))
    k_sitemap = max(2, round(0.05 * n_articles))
    exclusive = total - FEED_SIZE >= len(STUB_ROLES) + k_listing + k_sitemap
    if not exclusive:
        start = max(0, min(FEED_SIZE, total - len(STUB_ROLES)))
        for rank, role in zip(rng.sample(range(start, total), len(STUB_ROLES)), STUB_ROLES):
            roles[rank] = role
        return roles
    for rank in RSS_ONLY_RANKS:
        roles[rank] = "rss_only"
    for rank in range(total - k_listing, total):
        roles[rank] = "listing_only"
    picked = rng.sample(range(FEED_SIZE, total - k_listing), len(STUB_ROLES) + k_sitemap)
    for rank, role in zip(picked, STUB_ROLES + ("sitemap_only",) * k_sitemap):
        roles[rank] = role
    return roles


def plan_categories(roles: list[str], rng: random.Random) -> list[str]:
    """Category per rank.  "Thế giới" gets at least 12 common articles, so
    that the ``listing_only`` ones (all "Thế giới", the oldest) end up on
    listing page 2 (the third page) or later."""
    others = [c for c in CATEGORIES if c != "the-gioi"]
    common = [rank for rank, role in enumerate(roles) if role == "common"]
    n_world = min(len(common), max(12, round(0.3 * len(common))))
    pool = ["the-gioi"] * n_world + [others[i % 3] for i in range(len(common) - n_world)]
    rng.shuffle(pool)
    categories = [""] * len(roles)
    for rank, category in zip(common, pool):
        categories[rank] = category
    for rank, role in enumerate(roles):
        if role == "listing_only":
            categories[rank] = "the-gioi"
        elif role != "common":
            categories[rank] = rng.choice(list(CATEGORIES))
    return categories


def timeline(total: int, rng: random.Random) -> list[tuple[int, datetime, datetime]]:
    """(id, published, lastmod) oldest first, spread over March-May 2024."""
    step = (END - START) / max(total, 1)
    rows, article_id = [], FIRST_ID
    for index in range(total):
        moment = START + step * index + step * rng.uniform(0.0, 0.6)
        published = moment.replace(second=0, microsecond=0)
        rows.append((article_id, published, published + rng.choice(LASTMOD_DELAYS)))
        article_id += rng.randint(1, 37)
    return rows


def build_articles(n_articles: int, seed: int, writer: ArticleWriter) -> list[Article]:
    """All items (real articles and stubs), newest first."""
    rng = random.Random(f"vov-sample-plan-{seed}")
    roles = plan_roles(n_articles, rng)
    categories = plan_categories(roles, rng)
    total = len(roles)
    articles = []
    for index, (article_id, published, lastmod) in enumerate(timeline(total, rng)):
        rank = total - 1 - index
        articles.append(writer.write(article_id, categories[rank], published, lastmod, roles[rank]))
    articles.reverse()
    return articles


def pick_specials(articles: list[Article], seed: int) -> SpecialIds:
    """Choose the real articles that double as special pages."""
    rng = random.Random(f"vov-sample-specials-{seed}")
    common = [a for a in articles if a.role == "common"]
    archived = common[FEED_SIZE:] or common[1:] or common
    legacy = rng.choice(archived)
    utm = common[0]
    others = [a for a in common if a.id not in (legacy.id, utm.id)] or common
    redirect = rng.choice(others)
    # layouts from a generator of their own: the picks above stay what they always were
    layouts = random.Random(f"vov-sample-layouts-{seed}")
    free = [a for a in common if a.id not in (legacy.id, utm.id, redirect.id)] or common
    no_h1, summary_h2 = layouts.sample(free, 2) if len(free) >= 2 else (free[0], free[0])
    return SpecialIds(legacy_charset=legacy.id, utm_duplicate=utm.id, redirect=redirect.id,
                      no_h1=no_h1.id, summary_h2=summary_h2.id)


class Catalog:
    """Immutable snapshot of the site content with the indexes pages need."""

    def __init__(self, items: Iterable[Article], specials: SpecialIds, version: int,
                 updated: datetime | None = None,
                 deletions: dict[tuple[int, int], datetime] | None = None) -> None:
        """``updated`` is the site clock (monotonic across changes);
        ``deletions`` maps a month to when an article of it was last deleted."""
        self.items = tuple(sorted(items, key=lambda a: a.published, reverse=True))
        self.specials = specials
        self.version = version
        self.by_path = {a.path: a for a in self.items}
        self.by_id = {a.id: a for a in self.items}
        self.gold = tuple(a for a in self.items if a.role in GOLD_ROLES)
        self.common = tuple(a for a in self.items if a.role == "common")
        self.feed = tuple(a for a in self.items if a.role in FEED_ROLES)[:FEED_SIZE]
        self.listings = {
            category: tuple(a for a in self.items if a.category == category and a.role in LISTING_ROLES)
            for category in CATEGORIES
        }
        self.sitemaps = _by_month(a for a in self.items if a.role in SITEMAP_ROLES)
        self.tag_members = _by_tag(self.common)
        self.tag_names = {tag_id(tag): tag for a in self.items for tag in a.tags}
        self.updated = updated or max((a.lastmod for a in self.items), default=END)
        self.deletions = deletions or {}

    def page_count(self, category: str) -> int:
        return max(1, math.ceil(len(self.listings.get(category, ())) / PAGE_SIZE))

    def listing_page(self, category: str, page: int) -> tuple[Article, ...]:
        entries = self.listings.get(category, ())
        return entries[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]

    def special_article(self, name: str) -> Article | None:
        """The live article behind ``legacy_charset``/``utm_duplicate``/``redirect``."""
        return self.by_id.get(getattr(self.specials, name))

    def sitemap_modified(self, month: tuple[int, int]) -> datetime:
        """Last change of a monthly sitemap (also moves when an entry is deleted)."""
        times = [a.lastmod for a in self.sitemaps.get(month, ())]
        if month in self.deletions:
            times.append(self.deletions[month])
        return max(times, default=START)


def _by_month(articles: Iterable[Article]) -> dict[tuple[int, int], tuple[Article, ...]]:
    months: dict[tuple[int, int], list[Article]] = {}
    for article in articles:
        months.setdefault((article.published.year, article.published.month), []).append(article)
    return {month: tuple(entries) for month, entries in sorted(months.items())}


def _by_tag(articles: Iterable[Article]) -> dict[str, tuple[Article, ...]]:
    tags: dict[str, list[Article]] = {}
    for article in articles:
        for tag in article.tags:
            tags.setdefault(tag, []).append(article)
    return {tag: tuple(entries) for tag, entries in tags.items()}
