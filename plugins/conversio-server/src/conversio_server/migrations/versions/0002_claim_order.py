"""Claim order: a job's input format in a column of its own, and the index claims walk.

Claims look at the oldest few queued jobs of each key and input format; they found them by ranking
every claimable job, and now hop an index of (status, key, input format, age) from one group to the
next. The index starts with the status, so it replaces the index of the status alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The columns of the jobs table this revision reads and writes.
_jobs = sa.table("jobs", sa.column("spec", sa.JSON), sa.column("input_format", sa.Text))


def upgrade() -> None:
    op.add_column("jobs", sa.Column("input_format", sa.Text, nullable=False, server_default=""))
    described = _jobs.c.spec["input"]["format"].as_string()
    op.execute(_jobs.update().values(input_format=sa.func.coalesce(described, "")))
    op.create_index("ix_jobs_claim_order", "jobs", ["status", "key_id", "input_format", "created_at", "id"])
    op.drop_index("ix_jobs_status", table_name="jobs")


def downgrade() -> None:
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.drop_index("ix_jobs_claim_order", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("input_format")
