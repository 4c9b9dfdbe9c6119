"""Recrawl state, run counts and run locks (issue: incremental crawls)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTS = ("new", "changed", "unchanged", "not_modified", "gone", "failed")


def upgrade() -> None:
    with op.batch_alter_table("articles") as table:
        table.add_column(sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("crawl_runs") as table:
        for name in COUNTS:
            table.add_column(sa.Column(f"{name}_articles", sa.Integer(), nullable=True))
    op.create_table(
        "frontier",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("site", sa.String(length=100), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("listed_in", sa.Text(), nullable=True),
        sa.Column("lastmod", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site", "url"),
    )
    op.create_index("ix_frontier_site_done_at", "frontier", ["site", "done_at"])
    op.create_index("ix_frontier_listed_in", "frontier", ["listed_in"])
    op.create_table(
        "crawl_locks",
        sa.Column("site", sa.String(length=100), nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )


def downgrade() -> None:
    op.drop_table("crawl_locks")
    op.drop_index("ix_frontier_listed_in", table_name="frontier")
    op.drop_index("ix_frontier_site_done_at", table_name="frontier")
    op.drop_table("frontier")
    with op.batch_alter_table("crawl_runs") as table:
        for name in COUNTS:
            table.drop_column(f"{name}_articles")
    with op.batch_alter_table("articles") as table:
        table.drop_column("gone_at")
