"""Crawl jobs shared by several workers (issue: beyond one machine)

With FRONTIER_URL, every worker of a site's crawl job has its own `crawl_runs` row; the job's
id (numbered per site by the shared frontier) ties them together, so that `scrapy summary`
shows a job and each worker's part of it. NULL: a run of its own, as before.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs") as table:
        table.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        table.create_index("ix_crawl_runs_site_job_id", ["site", "job_id"])


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs") as table:
        table.drop_index("ix_crawl_runs_site_job_id")
        table.drop_column("job_id")
