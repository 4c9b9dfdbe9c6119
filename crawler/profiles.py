"""Site profiles: what a VOV-style site looks like, read from `settings/sites/<name>.toml`.

A profile is data (seeds, URL rules, politeness, extraction hints); the code is
shared by every site. `crawler.spiderloader` turns each profile file into a spider
of the same name, so `scrapy crawl vov` needs no spider class written for vov.

Setting read: PROFILES_DIR, a folder on disk or `<package>:<folder>` inside a Python
package (the default, `settings:sites`), read through importlib.resources so that the
bundled profiles load wherever the project is installed, a zipped egg on Scrapyd included.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from crawler.challenges import Blocking
from crawler.config import setting
from crawler.urls import canonical_url, host_of, move_to_origin, path_and_query
from storage.dates import zone_named

if TYPE_CHECKING:
    from datetime import tzinfo
    from importlib.resources.abc import Traversable

    from scrapy.settings import BaseSettings


class ProfileError(ValueError):
    """A profile file that cannot be used, with the file and the key at fault."""


@dataclass(frozen=True)
class Politeness:
    download_delay: float = 1.0
    concurrent_requests_per_domain: int = 2
    autothrottle: bool = True
    autothrottle_target_concurrency: float = 1.0

    def scrapy_settings(self) -> dict[str, Any]:
        return {
            "DOWNLOAD_DELAY": self.download_delay,
            "CONCURRENT_REQUESTS_PER_DOMAIN": self.concurrent_requests_per_domain,
            "AUTOTHROTTLE_ENABLED": self.autothrottle,
            "AUTOTHROTTLE_TARGET_CONCURRENCY": self.autothrottle_target_concurrency,
        }


@dataclass(frozen=True)
class Discovery:
    sitemaps: tuple[str, ...] = ()
    sitemaps_from_robots: bool = True
    monthly_sitemap: str | None = None
    feeds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    pagination_parameter: str = "page"
    max_category_pages: int = 50
    article_pattern: str = r"^/.+$"
    follow_links_in_articles: bool = True
    deny_patterns: tuple[str, ...] = ()
    strip_query_parameters: tuple[str, ...] = ("utm_*",)


@dataclass(frozen=True)
class Recrawl:
    # Fetch an archived article again after this many days even without a sign of change
    # (None: only when its sitemap or feed date says it changed).
    revisit_after_days: float | None = None


@dataclass(frozen=True)
class ExtractHints:
    """CSS selectors and patterns that help trafilatura on this site's pages."""

    title: tuple[str, ...] = ()  # none: og:title, JSON-LD, <title>, h1 (extraction.metadata)
    lead: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    published: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    drop_paragraphs: tuple[str, ...] = ()
    # Metadata the page's <meta> tags and JSON-LD do not give (those are read anyway, after these).
    modified: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    section: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # every match of the first selector that matches is a tag
    images: tuple[str, ...] = ()  # the article's own images (counted), e.g. "div.body figure img"
    # Zone of dates written without one: a UTC offset ("+07:00") or an IANA name; empty: such
    # dates are refused (recorded with the reason), never assumed to be UTC.
    timezone: str = ""

    def __post_init__(self) -> None:
        try:
            zone_named(self.timezone)
        except ValueError as error:
            raise ProfileError(f"[extract] {error}") from None


_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


@dataclass(frozen=True)
class Photos:
    """The article's own photos (matched by `[extract] images`), archived so that a replayed
    article shows them: fetched once each, from the site's own hosts and the `hosts` here."""

    enabled: bool = True
    hosts: tuple[str, ...] = ()  # image hosts besides the site's own, e.g. "media.vov.vn"

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ProfileError(f"[photos] enabled must be true or false, not {self.enabled!r}")
        if not isinstance(self.hosts, tuple):
            raise ProfileError(f"[photos] hosts must be a list of host names, not {self.hosts!r}")
        for host in self.hosts:
            if not isinstance(host, str) or not _HOST.fullmatch(host):
                raise ProfileError(f"[photos] hosts: {host!r} is not a lower-case host name "
                                   "(no scheme, port or path), e.g. \"media.vov.vn\"")


@dataclass(frozen=True)
class SiteProfile:
    name: str
    origin: str
    hosts: tuple[str, ...]
    title: str = ""
    language: str = "vi"
    politeness: Politeness = field(default_factory=Politeness)
    discovery: Discovery = field(default_factory=Discovery)
    recrawl: Recrawl = field(default_factory=Recrawl)
    extract: ExtractHints = field(default_factory=ExtractHints)
    blocking: Blocking = field(default_factory=Blocking)
    photos: Photos = field(default_factory=Photos)
    # the profile's own origin when crawling a mirror (`at_origin`): its hosts and the photo
    # hosts are all moved to `origin`
    mirror_of: str | None = None

    @classmethod
    def load(cls, path: Traversable) -> Self:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ProfileError(f"{path}: cannot read site profile: {error}") from error
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<profile>") -> Self:
        sections = {"politeness": Politeness, "discovery": Discovery, "recrawl": Recrawl,
                    "extract": ExtractHints, "blocking": Blocking, "photos": Photos}
        try:
            parts = {key: _build(kind, data.get(key, {}), f"{source} [{key}]")
                     for key, kind in sections.items()}
            top = {k: v for k, v in data.items() if k not in sections}
            profile = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in top.items()},
                          **parts)
        except TypeError as error:
            raise ProfileError(f"{source}: {error}") from error
        profile.validate(source)
        return profile

    def validate(self, source: str) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ProfileError(f"{source}: name {self.name!r} must be lower-case letters, digits, _")
        if urlsplit(self.origin).scheme not in {"http", "https"}:
            raise ProfileError(f"{source}: origin {self.origin!r} must be an http(s) URL")
        for pattern in (self.discovery.article_pattern, *self.discovery.deny_patterns,
                        *self.extract.drop_paragraphs):
            try:
                re.compile(pattern)
            except re.error as error:
                raise ProfileError(f"{source}: bad pattern {pattern!r}: {error}") from error

    def at_origin(self, origin: str) -> Self:
        """The same site served elsewhere (a mirror): same paths, same rules, other host."""
        if urlsplit(origin).scheme not in {"http", "https"} or not urlsplit(origin).netloc:
            raise ProfileError(f"origin {origin!r} must look like http://127.0.0.1:8080")
        return replace(self, origin=origin.rstrip("/"), mirror_of=self.mirror_of or self.origin)

    # ---- URL rules ----------------------------------------------------------

    def absolute(self, path: str) -> str:
        return self.origin.rstrip("/") + path

    def canonical(self, url: str) -> str | None:
        """The canonical URL to fetch for a link, or None if the link is not ours to follow.

        Links to the profile's own hosts are moved to the origin, so a mirror of
        the site is crawled exactly as the site itself would be.
        """
        if urlsplit(url).scheme not in {"http", "https"}:
            return None
        if host_of(url) not in {*self.hosts, self.origin_host}:
            return None
        url = move_to_origin(url, self.origin)
        url = canonical_url(url, self.discovery.strip_query_parameters)
        path = path_and_query(url)
        if any(re.search(pattern, path) for pattern in self.discovery.deny_patterns):
            return None
        return url

    def photo_url(self, url: str) -> str | None:
        """The canonical URL to fetch for an article's image, or None if its host is neither
        the site's nor a listed image host. In a mirror crawl it is moved to the origin, as
        the site's own links are (the mirror serves the image hosts' paths too)."""
        if urlsplit(url).scheme not in {"http", "https"}:
            return None
        if host_of(url) not in {*self.hosts, self.origin_host, *self.photos.hosts}:
            return None
        if self.mirror_of is not None or host_of(url) in self.hosts:
            url = move_to_origin(url, self.origin)
        return canonical_url(url, self.discovery.strip_query_parameters)

    def is_article(self, url: str) -> bool:
        return re.search(self.discovery.article_pattern, urlsplit(url).path) is not None

    @property
    def zone(self) -> tzinfo | None:
        """Where the site's dates written without a zone are read (sitemaps, feeds, pages)."""
        return zone_named(self.extract.timezone)

    @property
    def origin_host(self) -> str:
        return host_of(self.origin)


def _build(kind: type, values: dict[str, Any], source: str) -> Any:
    if not isinstance(values, dict):
        raise ProfileError(f"{source}: expected a table, got {type(values).__name__}")
    known = set(kind.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ProfileError(f"{source}: unknown keys {unknown}; known keys: {sorted(known)}")
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


PACKAGE_FOLDER = re.compile(r"(?P<package>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
                            r":(?P<folder>\w[\w.-]*(?:/\w[\w.-]*)*)")
"""`<package>:<folder>`, e.g. `settings:sites`: a folder inside an importable package."""


def profile_folder(location: str | Traversable) -> Traversable:
    """The folder PROFILES_DIR names: a folder on disk, else `<package>:<folder>` inside a
    package (wherever the package lives: a checkout, site-packages, a zipped egg)."""
    if not isinstance(location, str):
        folder = location
    elif (match := PACKAGE_FOLDER.fullmatch(location)) and not Path(location).exists():
        try:
            folder = resources.files(match["package"]).joinpath(*match["folder"].split("/"))
        except ModuleNotFoundError as error:
            raise ProfileError(f"PROFILES_DIR {location!r}: no package {match['package']!r} "
                               "to read site profiles from") from error
    else:
        folder = Path(location)
    if not folder.is_dir():
        raise ProfileError(f"PROFILES_DIR {str(location)!r} is not a folder: give a folder of "
                           "<site>.toml files, or <package>:<folder> inside a Python package")
    return folder


def profile_files(location: str | Traversable) -> list[Traversable]:
    """The profile files (`<site>.toml`) in the folder `location` names, sorted by name."""
    files = (entry for entry in profile_folder(location).iterdir()
             if entry.name.endswith(".toml") and entry.is_file())
    return sorted(files, key=lambda entry: entry.name)


def load_profiles(location: str | Traversable) -> dict[str, SiteProfile]:
    """Every profile in the folder `location` names (see `profile_folder`), by site name."""
    profiles: dict[str, SiteProfile] = {}
    for path in profile_files(location):
        profile = SiteProfile.load(path)
        if profile.name != path.name.removesuffix(".toml"):
            raise ProfileError(f"{path}: name {profile.name!r} must equal the file name")
        profiles[profile.name] = profile
    return profiles


def profiles_of(settings: BaseSettings) -> dict[str, SiteProfile]:
    """The site profiles a crawl or command with these settings uses (PROFILES_DIR)."""
    return load_profiles(setting(settings, "PROFILES_DIR", str))
