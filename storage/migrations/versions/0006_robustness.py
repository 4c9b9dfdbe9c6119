"""Per-URL failure state and per-capture problems (issue: hold up on the real web)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captures") as table:
        # values the catalogue could not hold as sent (normalised or clamped): {field: why}
        table.add_column(sa.Column("problems", sa.JSON(none_as_null=True), nullable=True))
        # why the response is not the page (a bot challenge): never extracted nor recrawl state
        table.add_column(sa.Column("blocked", sa.String(length=255), nullable=True))
    with op.batch_alter_table("frontier") as table:
        table.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        table.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("gave_up_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("frontier") as table:
        for name in ("gave_up_at", "retry_at", "last_error", "attempts"):
            table.drop_column(name)
    with op.batch_alter_table("captures") as table:
        table.drop_column("blocked")
        table.drop_column("problems")
