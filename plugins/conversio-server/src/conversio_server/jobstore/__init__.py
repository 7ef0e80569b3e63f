"""Durable jobs and batches: the ``jobs`` and ``batches`` tables and every change made to them.

Portable SQL (conditional ``UPDATE``\\s for claims and completions), so the SQLite default and a
PostgreSQL URL behave alike; the few statements the two write differently (a claim's lookups of each
group of jobs, the upserts of the unfinished counts) are made for each from one description.

Times are seconds since the epoch (floats). A job's status moves ``queued -> processing -> completed |
failed | cancelled``; a worker holds a *lease* on the job it runs (``lease_owner``, ``lease_expires``)
and renews it with heartbeats; a job whose lease expired is claimed again by another worker. Every
status change that a webhook reports enqueues the event in the same transaction
(:class:`~conversio_server.outbox.Outbox`), so the event exists if and only if the change does.

The modules: ``tables`` (the tables, the statuses and the clauses changes share), ``events`` (the
webhook events and wake-ups of a change), ``client_side`` (submitting, reading, cancelling and
retrying), ``worker_side`` (fair claims, leases, progress and finishing), ``claim_order`` (which jobs
a claim looks at) and ``store`` (the :class:`JobStore` made of both sides).
"""

from conversio_server.jobstore.client_side import NewJob, not_found, request_hash
from conversio_server.jobstore.store import JobStore
from conversio_server.jobstore.tables import (
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED,
    PROCESSING,
    QUEUED,
    batches,
    jobs,
)
from conversio_server.jobstore.worker_side import Claimed

__all__ = [
    "CANCELLED",
    "COMPLETED",
    "FAILED",
    "FINISHED",
    "PROCESSING",
    "QUEUED",
    "Claimed",
    "JobStore",
    "NewJob",
    "batches",
    "jobs",
    "not_found",
    "request_hash",
]
