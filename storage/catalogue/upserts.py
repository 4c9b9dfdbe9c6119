"""INSERT statements that meet existing rows without failing: ON CONFLICT, in each dialect.

Why this module exists: several crawlers may share one catalogue, so a row another process
inserted a moment ago (an article, a frontier URL, the site's lock) must be met, not fought.
"""

from __future__ import annotations

from sqlalchemy import Insert, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.catalogue.models import Base


def upsert(session: Session, model: type[Base]) -> Insert:
    """An INSERT that takes `.on_conflict_do_nothing()` / `.on_conflict_do_update(...)`."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"incremental crawls need PostgreSQL or SQLite, not {dialect}")
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(model)


def insert_ignoring_duplicates(session: Session, model: type[Base]) -> Insert:
    """An INSERT that skips rows already there; on other engines a plain one, so that a
    concurrent duplicate fails loudly instead."""
    if session.get_bind().dialect.name in ("postgresql", "sqlite"):
        return upsert(session, model).on_conflict_do_nothing()
    return insert(model)
