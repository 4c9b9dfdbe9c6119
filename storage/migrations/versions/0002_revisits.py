"""Revisit records: what a revisit capture refers to.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as table:
        # WARC-Profile of a revisit: server-not-modified or identical-payload-digest
        table.add_column(sa.Column("revisit_profile", sa.String(length=100), nullable=True))
        # WARC-Refers-To: the record holding the payload this revisit stands for
        table.add_column(sa.Column("refers_to_record_id", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("refers_to_capture_id", sa.BigInteger().with_variant(
            sa.Integer(), "sqlite"), nullable=True))
        table.create_index("ix_captures_refers_to_capture_id", ["refers_to_capture_id"])


def downgrade() -> None:
    with op.batch_alter_table("captures") as table:
        table.drop_index("ix_captures_refers_to_capture_id")
        table.drop_column("refers_to_capture_id")
        table.drop_column("refers_to_record_id")
        table.drop_column("revisit_profile")
