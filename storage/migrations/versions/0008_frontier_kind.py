"""What a frontier URL is (issue: article photos archived)

A URL a killed run left pending is taken up by the next run as what it was: an article, a
hub, or an article's photo (fetched once, never parsed). Rows written before this revision
have no kind: articles and hubs are told apart by the profile, as before.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("frontier") as table:
        table.add_column(sa.Column("kind", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("frontier") as table:
        table.drop_column("kind")
