"""The :class:`SampleSite` facade used by tests, the demo and the benchmark.

It owns the current :class:`~.catalog.Catalog` snapshot, answers requests
through :func:`~.routes.route` (rendering lazily, with a small cache), keeps
a log of what was requested (so tests can assert that traps were never
fetched) and supports the changes incremental-crawl tests need:
adding, changing and deleting articles.  All timestamps come from a
deterministic site clock, never from the wall clock.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from .catalog import GOLD_ROLES, STUB_ROLES, Catalog, build_articles, pick_specials
from .content import CATEGORIES, Article, ArticleWriter, update_paragraph
from .pages import OFFSITE_URLS, Layout, page_layout
from .routes import Response, route

LEGACY_CHARSET = "windows-1258"
UTM_FEED_QUERY = "?utm_source=rss&utm_medium=feed"
# The `oversized` page is a real article: its text is expected like any other's.
FAILURE_REASONS = {"empty": "empty", "non_html": "not_html"}
CLOCK_TICK = timedelta(hours=1)
CACHE_SIZE = 512


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered."""

    method: str
    target: str
    status: int
    #: time.monotonic() when the request had been read, and when its answer had been written
    #: (0: not yet, or the connection broke)
    received: float = 0.0
    answered: float = 0.0

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


class SampleSite:
    """A deterministic VOV-style news site with gold text for each article.

    ``n_articles`` real articles (all with gold text) plus five
    article-pattern special pages, one of which (``oversized``) is a real
    article too: :meth:`gold_texts` has ``n_articles + 1`` entries.  Pages vary
    in markup (see :class:`~.pages.Layout` and :data:`~.pages.SEE_ALSO`), never
    in gold text.  Render with :func:`~.server.serve`.
    """

    #: Path prefixes a polite, correct crawler never requests.
    traps: tuple[str, ...] = ("/lich", "/tim-kiem", "/print/")
    #: Off-site hosts linked from the chrome (also never to be fetched).
    offsite_hosts: frozenset[str] = frozenset(urlsplit(url).hostname or "" for url in OFFSITE_URLS)

    def __init__(self, n_articles: int = 30, seed: int = 1) -> None:
        if n_articles < 3:
            raise ValueError("a sample site needs at least 3 articles")
        self.n_articles = n_articles
        self.seed = seed
        self._writer = ArticleWriter(seed)
        self._rng = random.Random(f"vov-sample-changes-{seed}")
        items = build_articles(n_articles, seed, self._writer)
        specials = pick_specials(items, seed)
        items = [replace(a, charset=LEGACY_CHARSET) if a.id == specials.legacy_charset else a for a in items]
        self._lock = threading.Lock()
        self._clock = max(max(a.published, a.lastmod) for a in items)
        self._deletions: dict[tuple[int, int], datetime] = {}
        self._catalog = Catalog(items, specials, version=0, updated=self._clock)
        self._last_id = max(a.id for a in items)
        self._cache: dict[tuple[int, str, str], Response] = {}
        self._requests: list[RequestRecord] = []
        self._withheld: set[str] = set()
        self._log_lock = threading.Lock()
        self.special: dict[str, str] = self._special_paths()
        self.redirect_target: str = self._catalog.by_id[specials.redirect].path

    # ------------------------------------------------------------------ content

    @property
    def catalog(self) -> Catalog:
        """Current immutable snapshot (all items, listings, feeds, sitemaps)."""
        return self._catalog

    @property
    def articles(self) -> list[Article]:
        """Every live article that has gold text, newest first."""
        return list(self._catalog.gold)

    def article(self, path: str) -> Article:
        """The live gold article at ``path`` (``KeyError`` if none)."""
        item = self._catalog.by_path.get(path)
        if item is None or item.role not in GOLD_ROLES:
            raise KeyError(path)
        return item

    def gold_texts(self) -> dict[str, str]:
        """Article path -> exact text a perfect extractor returns."""
        return {a.path: a.gold_text for a in self._catalog.gold}

    def layout(self, path: str) -> Layout:
        """How the live gold article at ``path`` is written (no ``<h1>``, lead in an ``h2``)."""
        return page_layout(self.article(path), self._catalog.specials)

    def paths_with_layout(self, **wanted: bool) -> list[str]:
        """Gold article paths whose layout has the given values, e.g. ``title_h1=False``."""
        return [a.path for a in self._catalog.gold
                if all(getattr(self.layout(a.path), name) == value for name, value in wanted.items())]

    def expected_failures(self) -> dict[str, str]:
        """Path -> reason for archived pages whose extraction must fail."""
        return {a.path: FAILURE_REASONS[a.role] for a in self._catalog.items if a.role in FAILURE_REASONS}

    def paths_by_role(self) -> dict[str, list[str]]:
        """Role (``common``, ``sitemap_only``, ``listing_only``, ``rss_only``,
        or a special role) -> article-pattern paths, newest first."""
        roles: dict[str, list[str]] = {}
        for item in self._catalog.items:
            roles.setdefault(item.role, []).append(item.path)
        return roles

    def _special_paths(self) -> dict[str, str]:
        catalog = self._catalog
        specials = catalog.specials
        stub_paths = {a.role: a.path for a in catalog.items if a.role in STUB_ROLES}
        return {
            "redirect": catalog.by_id[specials.redirect].legacy_path,
            "not_found": stub_paths["not_found"],
            "server_error": stub_paths["server_error"],
            "utm_duplicate": catalog.by_id[specials.utm_duplicate].path + UTM_FEED_QUERY,
            "non_html": stub_paths["non_html"],
            "legacy_charset": catalog.by_id[specials.legacy_charset].path,
            "oversized": stub_paths["oversized"],
            "empty": stub_paths["empty"],
        }

    # ------------------------------------------------------------------ changes

    def add_articles(self, n: int) -> list[Article]:
        """Publish ``n`` new ``common`` articles, newer than everything else."""
        with self._lock:
            new = [self._write_new_article() for _ in range(n)]
            self._swap(self._catalog.items + tuple(new))
        return new

    def change_article(self, path: str) -> Article:
        """Append a body paragraph and move ``lastmod`` (and sitemap lastmod) forward."""
        with self._lock:
            old = self.article(path)
            when = self._tick()
            new = replace(old, blocks=old.blocks + (update_paragraph(old, when),), lastmod=when,
                          version=old.version + 1)
            self._swap(new if a.id == old.id else a for a in self._catalog.items)
        return new

    def delete_article(self, path: str) -> None:
        """Remove an article: its URL answers 404 and it leaves every listing."""
        with self._lock:
            old = self.article(path)
            self._deletions[(old.published.year, old.published.month)] = self._tick()
            self._swap(a for a in self._catalog.items if a.id != old.id)

    def _write_new_article(self) -> Article:
        published = self._tick()
        self._last_id += self._rng.randint(1, 37)
        category = self._rng.choice(list(CATEGORIES))
        return self._writer.write(self._last_id, category, published, published)

    def _tick(self) -> datetime:
        self._clock += CLOCK_TICK
        return self._clock

    def _swap(self, items: Iterable[Article]) -> None:
        catalog = self._catalog
        self._catalog = Catalog(items, catalog.specials, catalog.version + 1, self._clock, dict(self._deletions))
        self._cache.clear()

    # ------------------------------------------------------------------ serving

    def photos(self) -> dict[str, str]:
        """Gold article path -> the path of the photo its body shows (articles without a photo
        in their body are left out; listings show the same image as a thumbnail)."""
        found = {}
        for item in self._catalog.gold:
            body = self.respond(item.path, "http://sample.invalid").body
            if b'<figure class="image"><img src="' + item.image.encode("ascii") in body:
                found[item.path] = urlsplit(item.image).path
        return found

    def withhold(self, path: str) -> None:
        """Make ``path`` answer 404 (a photo not on its host yet) until :meth:`restore`."""
        with self._lock:
            self._withheld.add(path)

    def restore(self, path: str) -> None:
        with self._lock:
            self._withheld.discard(path)

    def respond(self, target: str, base: str) -> Response:
        """Answer a request target (``/path?query``) for a server at ``base``."""
        if urlsplit(target).path in self._withheld:
            return route(self._catalog, "/404-withheld", base)
        catalog = self._catalog
        key = (catalog.version, base, target)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        response = route(catalog, target, base)
        if response.cacheable:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()  # crude bound; rendering is cheap anyway
            self._cache[key] = response
        return response

    def record(self, method: str, target: str, status: int, received: float = 0.0) -> RequestRecord:
        """Log a request as its answer starts; :meth:`answered` adds when the answer ended."""
        logged = RequestRecord(method, target, status, received)
        with self._log_lock:
            self._requests.append(logged)
        return logged

    def answered(self, logged: RequestRecord, at: float) -> None:
        """The answer of the request `logged` was written whole at `at`."""
        with self._log_lock:
            for place in range(len(self._requests) - 1, -1, -1):  # recent: near the end
                if self._requests[place] is logged:
                    self._requests[place] = replace(logged, answered=at)
                    return

    @property
    def requests(self) -> list[RequestRecord]:
        """Copy of the request log, oldest first."""
        with self._log_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def trap_requests(self) -> list[RequestRecord]:
        """Logged requests a correct crawler would never have made."""
        return [r for r in self.requests if r.path.startswith(self.traps)]
