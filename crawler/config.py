"""Read a setting of our own: its current name or an old alias, else its default.

Scrapy's getters take the default at each call; keeping the defaults in one table
(`settings.defaults`) means a component never disagrees with README or `project.py`
about what an unset setting means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from settings.defaults import DEFAULTS, RENAMED

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

T = TypeVar("T", str, int, float, bool, dict)

_OLD_NAMES: dict[str, list[str]] = {}
for _old, _new in RENAMED.items():
    _OLD_NAMES.setdefault(_new, []).append(_old)


def setting(settings: BaseSettings, name: str, kind: type[T]) -> T:
    """The value of setting `name` as `kind`, read as Scrapy's typed getters read it."""
    if name not in DEFAULTS:
        raise KeyError(f"{name} is not a vnarchive setting (see settings/defaults.py)")
    given = _given_name(settings, name)
    getter = {str: settings.get, int: settings.getint, float: settings.getfloat,
              bool: settings.getbool, dict: settings.getdict}[kind]
    value = getter(given, DEFAULTS[name])
    return str(value) if kind is str else value  # type: ignore[return-value]


def _given_name(settings: BaseSettings, name: str) -> str:
    """The name under which the user gave the setting: an old name wins unless the current
    one was given with a higher priority (the project itself never sets an old name, so an
    old name set at all was set by the user, e.g. in a settings module importing ours)."""
    chosen, rank = name, _priority(settings, name)
    for old in _OLD_NAMES.get(name, ()):
        if settings.getpriority(old) is not None and _priority(settings, old) >= rank:
            chosen, rank = old, _priority(settings, old)
    return chosen


def _priority(settings: BaseSettings, name: str) -> int:
    priority = settings.getpriority(name)
    return -1 if priority is None else priority

