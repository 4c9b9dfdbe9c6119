"""Captures found by their WARC file: a per-file CDXJ index is written from them (storage.cdxjfiles)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_captures_warc_file"), "captures", ["warc_file"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_captures_warc_file"), table_name="captures")
