"""Scrapy's spider loader for the project: one spider per site profile file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from crawler.profiles import profiles_of
from crawler.spiders.news import NewsSpider

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.http import Request
    from scrapy.settings import BaseSettings


class ProfileSpiderLoader:
    """Scrapy spider loader: one `NewsSpider` subclass per profile file in PROFILES_DIR."""

    def __init__(self, settings: BaseSettings):
        self._spiders: dict[str, type[Spider]] = {
            name: type(f"{name.title()}Spider", (NewsSpider,), {"name": name, "profile": profile})
            for name, profile in profiles_of(settings).items()
        }

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            known = ", ".join(sorted(self._spiders)) or "none"
            raise KeyError(
                f"Spider not found: {spider_name} (sites with a profile: {known})"
            ) from None

    def list(self) -> list[str]:
        return sorted(self._spiders)

    def find_by_request(self, request: Request) -> list[str]:
        return [name for name, spider in self._spiders.items()
                if spider.profile.canonical(request.url) is not None]  # type: ignore[attr-defined]
