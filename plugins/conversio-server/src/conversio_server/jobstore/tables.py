"""The ``jobs`` and ``batches`` tables and the counts of unfinished jobs, a job's statuses, and the
clauses and reads every change shares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from conversio_server.database import metadata

QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = "queued", "processing", "completed", "failed", "cancelled"
FINISHED = (COMPLETED, FAILED, CANCELLED)
#: The ``key_id`` of the row of :data:`unfinished` that counts every key's jobs.
EVERY_KEY = ""

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("batch_id", sa.String(64), nullable=True, index=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("spec", sa.JSON, nullable=False),
    #: The format of the job's first input (the spec's ``input.format``; "" when it has none): claims
    #: look at the oldest few jobs of each key and input format (:mod:`.claim_order`).
    sa.Column("input_format", sa.Text, nullable=False, server_default=""),
    sa.Column("tag", sa.String(200), nullable=True),
    sa.Column("webhook", sa.Text, nullable=True),
    sa.Column("job_events", sa.Boolean, nullable=False, default=True),
    sa.Column("max_running", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("eta", sa.Float, nullable=True),
    sa.Column("step", sa.Text, nullable=False, default=""),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("warnings", sa.JSON, nullable=False),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires", sa.Float, nullable=True),
    sa.Column("heartbeat_at", sa.Float, nullable=True),
    sa.Column("revision", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("key_id", "idempotency_key", name="uq_jobs_idempotency"),
    # the order claims walk the queued jobs in, by key and input format (:mod:`.claim_order`); with
    # ``status`` first it also finds the running jobs, of a key or all, and the jobs of a status
    sa.Index("ix_jobs_claim_order", "status", "key_id", "input_format", "created_at", "id"),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("webhook", sa.Text, nullable=True),
    sa.Column("callback_mode", sa.String(8), nullable=False),
    sa.Column("tag", sa.String(200), nullable=True),
    sa.Column("job_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
)

#: How many unfinished (queued or running) jobs each key has, and every key (:data:`EVERY_KEY`): kept by
#: each change into or out of those statuses (:func:`count_unfinished`), so a submission reads the
#: counts it is limited by instead of counting the queue.
unfinished = sa.Table(
    "unfinished_jobs",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),
    sa.Column("jobs", sa.Integer, nullable=False),
)


def count_unfinished(db: sa.Connection, changes: Mapping[str, int]) -> dict[str, int]:
    """Add ``changes`` (key id: jobs) to the unfinished jobs of their keys and of every key, in the
    transaction of the change; returns the counts after it. The rows are changed in one order (the keys
    sorted, then every key's), so two transactions never wait for each other's; PostgreSQL holds them
    until the commit, so make this the transaction's last change."""
    insert = postgresql.insert if db.dialect.name == "postgresql" else sqlite.insert
    counts = {}
    for key_id, change in [*sorted(changes.items()), (EVERY_KEY, sum(changes.values()))]:
        statement = (
            insert(unfinished)
            .values(key_id=key_id, jobs=change)
            .on_conflict_do_update(
                index_elements=[unfinished.c.key_id], set_={"jobs": unfinished.c.jobs + change}
            )
            .returning(unfinished.c.jobs)
        )
        counts[key_id] = int(db.execute(statement).scalar_one())
    return counts


def read_job(db: sa.Connection, job_id: str) -> dict[str, Any]:
    """The row of ``job_id``, which exists (read in the transaction that just changed it)."""
    return dict(db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)


def held(job_id: str, owner: str) -> sa.ColumnElement[bool]:
    """``job_id`` is running and ``owner`` holds its lease (else a worker's change is dropped)."""
    return sa.and_(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == PROCESSING)


def revised(now: float) -> dict[str, Any]:
    """The values of a change a job's event stream shows: the time and a new ``revision``."""
    return {"updated_at": now, "revision": jobs.c.revision + 1}
