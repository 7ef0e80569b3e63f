"""Workers: the registry of live job workers (``workers``), and the index through which ``/metrics``
reads the jobs claimed lately (``ix_jobs_started_at``); both declared in :mod:`conversio_server.fleet`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("seen_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("running", sa.Integer, nullable=False),
        sa.Column("draining", sa.Boolean, nullable=False),
    )
    op.create_index("ix_jobs_started_at", "jobs", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_jobs_started_at", table_name="jobs")
    op.drop_table("workers")
