"""What the API does with jobs for its clients: submitting (within the queue's limits, idempotently),
recording a synchronous conversion handed off as a job, reading and listing jobs and batches, and
cancelling or retrying a job."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from conversio_server.errors import ApiError
from conversio_server.jobstore.events import JobEvents
from conversio_server.jobstore.tables import (
    CANCELLED,
    EVERY_KEY,
    FAILED,
    PROCESSING,
    QUEUED,
    batches,
    count_unfinished,
    jobs,
    read_job,
    revised,
)
from conversio_server.wakeup import JOBS_CHANNEL, announce
from conversio_server.webhooks import EventType


@attrs.frozen(kw_only=True)
class NewJob:
    """What a submission stores: the spec (inputs as stored artifact ids) and who and where to tell."""

    spec: dict[str, Any]
    key_id: str
    tag: str | None = None
    webhook: str | None = None
    job_events: bool = True
    max_running: int | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None


def request_hash(body: Any) -> str:
    """A stable digest of a submission's body (to tell a retried submission from a different one)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def not_found(job_id: str) -> ApiError:
    return ApiError("JOB_NOT_FOUND", f"no job has the id {job_id!r}", details={"jobId": job_id})


def _new_row(new: NewJob, batch_id: str | None, created_at: float, now: float) -> dict[str, Any]:
    """A queued job's row (``created_at`` orders a batch's jobs as given)."""
    return {
        "id": "job_" + secrets.token_urlsafe(16),
        "key_id": new.key_id,
        "batch_id": batch_id,
        "idempotency_key": new.idempotency_key,
        "request_hash": new.request_hash,
        "spec": new.spec,
        "input_format": (new.spec.get("input") or {}).get("format") or "",
        "tag": new.tag,
        "webhook": new.webhook,
        "job_events": new.job_events,
        "max_running": new.max_running,
        "status": QUEUED,
        "progress": 0.0,
        "eta": None,
        "step": "",
        "steps": [],
        "outputs": [],
        "warnings": [],
        "error": None,
        "attempts": 0,
        "cancel_requested": False,
        "revision": 0,
        "created_at": created_at,
        "updated_at": now,
    }


def _check_room(counts: Mapping[str, int], added: Mapping[str, int], per_key: int, total: int) -> None:
    """Refuse the jobs just ``added`` (key id: jobs) if with them a key has more than ``per_key``
    unfinished jobs, or everybody more than ``total`` (``counts``: the counts with them)."""
    for key_id, count in added.items():
        if counts[key_id] > per_key:
            mine = counts[key_id] - count
            raise ApiError(
                "RATE_LIMITED",
                f"the key has {mine} unfinished jobs; at most {per_key} may wait or run at once",
                details={"unfinished": mine, "limit": per_key},
                headers={"Retry-After": "5"},
            )
    if counts[EVERY_KEY] > total:
        everybody = counts[EVERY_KEY] - sum(added.values())
        raise ApiError(
            "SERVICE_UNAVAILABLE",
            "the job queue is full; retry later",
            details={"unfinished": everybody, "limit": total},
            headers={"Retry-After": "5"},
        )


class ClientSide(JobEvents):
    """The calls of the API's routes (and the sync hand-off) on the jobs and batches."""

    # -- submitting ----------------------------------------------------------------------------
    def find_idempotent(self, key_id: str, idempotency_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(jobs).where(jobs.c.key_id == key_id, jobs.c.idempotency_key == idempotency_key)
            ).first()
        return None if row is None else dict(row._mapping)

    def create(
        self,
        new_jobs: Sequence[NewJob],
        *,
        batch: dict[str, Any] | None = None,
        limits: tuple[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Insert jobs (and their batch) queued, with their ``job.queued`` events; returns the rows.

        ``limits`` ``(per_key, total)``: the most unfinished jobs one key, and everybody, may have;
        beyond them 429 ``RATE_LIMITED`` / 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``.
        """
        now = time.time()
        rows = []
        added = Counter(new.key_id for new in new_jobs)
        with self.engine.begin() as db:
            if batch is not None:
                db.execute(batches.insert().values(**batch, job_count=len(new_jobs), created_at=now))
            for position, new in enumerate(new_jobs):
                row = _new_row(new, None if batch is None else batch["id"], now + position * 1e-6, now)
                db.execute(jobs.insert().values(**row))
                self._notify(db, row, EventType.JOB_QUEUED)
                rows.append(row)
            counts = count_unfinished(db, added)
            if limits is not None:
                _check_room(counts, added, *limits)  # refused: nothing of this transaction stays
            announce(db, JOBS_CHANNEL)
        self.outbox.notify()
        self._queued()
        return rows

    def adopt(self, new: NewJob, owner: str, lease: float, started_at: float) -> dict[str, Any]:
        """Record work already running (a synchronous conversion past the sync limit) as a job that
        ``owner`` holds the lease of: it renews it like a worker, and when it stops renewing (the server
        died) a worker runs the job again."""
        now = time.time()
        row = _new_row(new, None, started_at, now)
        row.update(
            status=PROCESSING,
            attempts=1,
            lease_owner=owner,
            lease_expires=now + lease,
            heartbeat_at=now,
            started_at=started_at,
        )
        with self.engine.begin() as db:
            db.execute(jobs.insert().values(**row))
            count_unfinished(db, {new.key_id: 1})
        return row

    # -- reading -------------------------------------------------------------------------------
    def get(self, job_id: str, key_id: str | None = None) -> dict[str, Any]:
        """The row of ``job_id``; ``JOB_NOT_FOUND`` if unknown or (with ``key_id``) another key's."""
        with self.engine.connect() as db:
            row = db.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
        if row is None or (key_id is not None and row.key_id != key_id):
            raise not_found(job_id)
        return dict(row._mapping)

    def find(
        self,
        key_id: str | None,
        *,
        status: str | None = None,
        tag: str | None = None,
        since: float | None = None,
        batch_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        query = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id).limit(limit)
        if key_id is not None:
            query = query.where(jobs.c.key_id == key_id)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if tag is not None:
            query = query.where(jobs.c.tag == tag)
        if since is not None:
            query = query.where(jobs.c.created_at >= since)
        if batch_id is not None:
            query = (
                query.where(jobs.c.batch_id == batch_id).order_by(None).order_by(jobs.c.created_at, jobs.c.id)
            )
        with self.engine.connect() as db:
            return [dict(r._mapping) for r in db.execute(query)]

    def batch(self, batch_id: str, key_id: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        with self.engine.connect() as db:
            row = db.execute(sa.select(batches).where(batches.c.id == batch_id)).first()
        if row is None or (key_id is not None and row.key_id != key_id):
            raise ApiError(
                "JOB_NOT_FOUND", f"no batch has the id {batch_id!r}", details={"batchId": batch_id}
            )
        return dict(row._mapping), self.find(None, batch_id=batch_id, limit=100_000)

    # -- the client's changes ------------------------------------------------------------------
    def cancel(self, job_id: str, key_id: str | None) -> dict[str, Any]:
        """Cancel a queued job at once; ask the worker of a processing one to stop (it reports back)."""
        row = self.get(job_id, key_id)
        now = time.time()
        with self.engine.begin() as db:
            done = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status == QUEUED)
                .values(status=CANCELLED, finished_at=now, **revised(now))
            ).rowcount
            if done:
                row = read_job(db, job_id)
                self._notify(db, row, EventType.JOB_CANCELLED)
                self._finish_batch(db, row)
                count_unfinished(db, {row["key_id"]: -1})
            else:
                db.execute(
                    jobs.update()
                    .where(jobs.c.id == job_id, jobs.c.status == PROCESSING)
                    .values(cancel_requested=True, updated_at=now)
                )
        self.outbox.notify()
        return self.get(job_id)

    def retry(self, job_id: str, key_id: str | None) -> dict[str, Any]:
        """Queue a failed or cancelled job again; the engine's cache makes it resume at the failed step."""
        self.get(job_id, key_id)
        now = time.time()
        with self.engine.begin() as db:
            done = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_((FAILED, CANCELLED)))
                .values(
                    status=QUEUED,
                    error=None,
                    progress=0.0,
                    eta=None,
                    cancel_requested=False,
                    finished_at=None,
                    lease_owner=None,
                    lease_expires=None,
                    **revised(now),
                )
            ).rowcount
            if not done:
                raise ApiError(
                    "INVALID_REQUEST",
                    "only a failed or cancelled job can be retried",
                    details={"jobId": job_id},
                )
            row = read_job(db, job_id)
            self._notify(db, row, EventType.JOB_QUEUED)
            count_unfinished(db, {row["key_id"]: 1})
            announce(db, JOBS_CHANNEL)
        self.outbox.notify()
        self._queued()
        return row
