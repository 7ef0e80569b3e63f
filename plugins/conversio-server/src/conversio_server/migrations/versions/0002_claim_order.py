"""Claim order: a job's input format in a column of its own, the index claims walk, and the counts
of unfinished jobs submissions are limited by.

Claims look at the oldest few queued jobs of each key and input format; they found them by ranking
every claimable job, and now hop an index of (status, key, input format, age) from one group to the
next. The index starts with the status, so it replaces the index of the status alone. Submissions
counted the unfinished (queued or running) jobs of their key and of everybody; they now read them
from ``unfinished_jobs``, which every change keeps (the row of key "" is everybody's).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: The columns of the jobs table this revision reads and writes.
_jobs = sa.table(
    "jobs",
    sa.column("key_id", sa.String),
    sa.column("status", sa.String),
    sa.column("spec", sa.JSON),
    sa.column("input_format", sa.Text),
)


def upgrade() -> None:
    op.add_column("jobs", sa.Column("input_format", sa.Text, nullable=False, server_default=""))
    described = _jobs.c.spec["input"]["format"].as_string()
    op.execute(_jobs.update().values(input_format=sa.func.coalesce(described, "")))
    op.create_index("ix_jobs_claim_order", "jobs", ["status", "key_id", "input_format", "created_at", "id"])
    op.drop_index("ix_jobs_status", table_name="jobs")
    counts = op.create_table(
        "unfinished_jobs",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("jobs", sa.Integer, nullable=False),
    )
    unfinished = _jobs.c.status.in_(("queued", "processing"))
    each_key = sa.select(_jobs.c.key_id, sa.func.count()).where(unfinished).group_by(_jobs.c.key_id)
    every_key = sa.select(sa.literal(""), sa.func.count()).where(unfinished)
    op.execute(counts.insert().from_select(["key_id", "jobs"], sa.union_all(each_key, every_key)))


def downgrade() -> None:
    op.drop_table("unfinished_jobs")
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.drop_index("ix_jobs_claim_order", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("input_format")
