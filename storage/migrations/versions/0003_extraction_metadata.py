"""Extraction metadata in documents (issue: extraction quality)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# All nullable: older documents have none of these, and a page may state none of them.
COLUMNS = (
    ("modified_at", sa.DateTime(timezone=True)),
    ("author", sa.Text()),
    ("section", sa.Text()),
    ("tags", sa.JSON()),  # list of strings
    ("language", sa.String(length=64)),
    ("canonical_url", sa.Text()),
    ("image_count", sa.Integer()),
    ("metadata_problems", sa.JSON()),  # {field: why the page's value was refused}
)


def upgrade() -> None:
    with op.batch_alter_table("documents") as table:
        for name, kind in COLUMNS:
            table.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as table:
        for name, _ in reversed(COLUMNS):
            table.drop_column(name)
