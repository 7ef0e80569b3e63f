"""Durable jobs and batches: the ``jobs`` and ``batches`` tables and every change made to them.

Portable SQL only (conditional ``UPDATE``\\s for claims and completions), so the SQLite default and a
PostgreSQL URL behave alike. Times are seconds since the epoch (floats). A job's status moves
``queued -> processing -> completed | failed | cancelled``; a worker holds a *lease* on the job it runs
(``lease_owner``, ``lease_expires``) and renews it with heartbeats; a job whose lease expired is claimed
again by another worker. Every status change that a webhook reports enqueues the event in the same
transaction (:class:`~conversio_server.outbox.Outbox`), so the event exists if and only if the change does.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from conversio_server.database import create_engine, metadata
from conversio_server.errors import ApiError
from conversio_server.outbox import Outbox
from conversio_server.wakeup import wake_all
from conversio_server.webhooks import EventType, InputInfo, OutputInfo, batch_event, job_event

QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = "queued", "processing", "completed", "failed", "cancelled"
FINISHED = (COMPLETED, FAILED, CANCELLED)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False, index=True),
    sa.Column("batch_id", sa.String(64), nullable=True, index=True),
    sa.Column("idempotency_key", sa.String(255), nullable=True),
    sa.Column("request_hash", sa.String(64), nullable=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("tag", sa.String(200), nullable=True),
    sa.Column("webhook", sa.Text, nullable=True),
    sa.Column("job_events", sa.Boolean, nullable=False, default=True),
    sa.Column("max_running", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
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


@attrs.frozen
class Claimed:
    """A job a worker holds the lease of."""

    id: str
    spec: dict[str, Any]
    attempts: int


#: The oldest claimable jobs of each key and input format that a claim looks at (more wait their turn).
_FIRSTS_PER_KEY = 5
#: What a claim reads of each job it looks at.
_CANDIDATE = (jobs.c.id, jobs.c.key_id, jobs.c.max_running, jobs.c.created_at, jobs.c.spec)


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


class JobStore:
    """The jobs of the database at ``database`` (a URL or an engine); safe from several processes."""

    def __init__(
        self,
        database: str | sa.Engine,
        outbox: Outbox | None = None,
        *,
        wake_path: Path | None = None,
        wake_workers: Path | None = None,
    ) -> None:
        """``wake_path``: the socket of the webhook dispatcher to wake when events are enqueued (a worker's
        dispatcher lives in the server's process); ``wake_workers``: the folder of the sockets of the job
        workers to wake when a job is queued."""
        self._owns_engine = isinstance(database, str)
        self.engine = create_engine(database) if isinstance(database, str) else database
        if not self._owns_engine:
            metadata.create_all(self.engine)
        self.outbox = outbox if outbox is not None else Outbox(self.engine, wake_path)
        self.wake_workers = wake_workers

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    # -- submitting ----------------------------------------------------------------------------
    def find_idempotent(self, key_id: str, idempotency_key: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(jobs).where(jobs.c.key_id == key_id, jobs.c.idempotency_key == idempotency_key)
            ).first()
        return None if row is None else dict(row._mapping)

    def counts(self, key_id: str | None = None) -> dict[str, int]:
        """Jobs by status (of one key, or all)."""
        query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        if key_id is not None:
            query = query.where(jobs.c.key_id == key_id)
        with self.engine.connect() as db:
            return {str(status): int(n) for status, n in db.execute(query)}

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
        with self.engine.begin() as db:
            if limits is not None and new_jobs:
                self._check_room(db, new_jobs[0].key_id, len(new_jobs), *limits)
            if batch is not None:
                db.execute(batches.insert().values(**batch, job_count=len(new_jobs), created_at=now))
            for position, new in enumerate(new_jobs):
                row = _new_row(new, None if batch is None else batch["id"], now + position * 1e-6, now)
                db.execute(jobs.insert().values(**row))
                self._notify(db, row, EventType.JOB_QUEUED)
                rows.append(row)
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
        return row

    def _check_room(self, db: sa.Connection, key_id: str, count: int, per_key: int, total: int) -> None:
        unfinished = jobs.c.status.in_((QUEUED, PROCESSING))
        mine = db.execute(sa.select(sa.func.count()).where(unfinished, jobs.c.key_id == key_id)).scalar_one()
        if mine + count > per_key:
            raise ApiError(
                "RATE_LIMITED",
                f"the key has {mine} unfinished jobs; at most {per_key} may wait or run at once",
                details={"unfinished": mine, "limit": per_key},
                headers={"Retry-After": "5"},
            )
        everybody = db.execute(sa.select(sa.func.count()).where(unfinished)).scalar_one()
        if everybody + count > total:
            raise ApiError(
                "SERVICE_UNAVAILABLE",
                "the job queue is full; retry later",
                details={"unfinished": everybody, "limit": total},
                headers={"Retry-After": "5"},
            )

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
                .values(status=CANCELLED, finished_at=now, updated_at=now, revision=jobs.c.revision + 1)
            ).rowcount
            if done:
                row = dict(db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)
                self._notify(db, row, EventType.JOB_CANCELLED)
                self._finish_batch(db, row)
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
                    updated_at=now,
                    revision=jobs.c.revision + 1,
                )
            ).rowcount
            if not done:
                raise ApiError(
                    "INVALID_REQUEST",
                    "only a failed or cancelled job can be retried",
                    details={"jobId": job_id},
                )
            row = dict(db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)
            self._notify(db, row, EventType.JOB_QUEUED)
        self.outbox.notify()
        self._queued()
        return row

    # -- the worker's side ---------------------------------------------------------------------
    def claim(
        self, owner: str, lease: float, admits: Callable[[dict[str, Any]], bool] | None = None
    ) -> Claimed | None:
        """Take one job, fairly: the oldest queued one (or one whose worker's lease expired) of the key
        with the fewest running jobs, among keys under their running limit; so one key's many jobs never
        starve another key's. ``admits`` may turn a job down by its spec (a worker's lane is full,
        :mod:`conversio_server.lanes`); the oldest few of each key and input format are looked at, so a
        key's cheap job is seen behind many slow ones of that key. The ``UPDATE`` only succeeds while the
        job is still claimable and its key still under its limit (counted in the same statement), so two
        workers never both get it nor both start a key's last free slot; SQLite runs the statement under
        its write lock."""
        now = time.time()
        claimable = sa.or_(
            jobs.c.status == QUEUED, sa.and_(jobs.c.status == PROCESSING, jobs.c.lease_expires < now)
        )
        rank = sa.func.row_number().over(
            partition_by=(jobs.c.key_id, jobs.c.spec["input"]["format"].as_string()),
            order_by=(jobs.c.created_at, jobs.c.id),
        )
        firsts = (
            sa.select(
                jobs.c.id,
                jobs.c.key_id,
                jobs.c.max_running,
                jobs.c.created_at,
                jobs.c.spec,
                rank.label("rank"),
            )
            .where(claimable)
            .subquery()
        )
        with self.engine.connect() as db:
            candidates = db.execute(
                sa.select(
                    firsts.c.id, firsts.c.key_id, firsts.c.max_running, firsts.c.created_at, firsts.c.spec
                )
                .where(firsts.c.rank <= _FIRSTS_PER_KEY)
                .order_by(firsts.c.created_at, firsts.c.id)
                .limit(200)
            ).all()
            running: dict[str, int] = {
                str(k): int(n)
                for k, n in db.execute(
                    sa.select(jobs.c.key_id, sa.func.count())
                    .where(jobs.c.status == PROCESSING, jobs.c.lease_expires >= now)
                    .group_by(jobs.c.key_id)
                )
            }
        others = jobs.alias("others")
        running_now = (
            sa.select(sa.func.count())
            .where(
                others.c.key_id == jobs.c.key_id,
                others.c.status == PROCESSING,
                others.c.lease_expires >= now,
            )
            .scalar_subquery()
        )
        for candidate in sorted(candidates, key=lambda c: (running.get(c.key_id, 0), c.created_at, c.id)):
            if (
                candidate.max_running is not None
                and running.get(candidate.key_id, 0) >= candidate.max_running
            ):
                continue
            if admits is not None and not admits(dict(candidate.spec)):
                continue
            with self.engine.begin() as db:
                taken = db.execute(
                    jobs.update()
                    .where(
                        jobs.c.id == candidate.id,
                        sa.or_(
                            jobs.c.status == QUEUED,
                            sa.and_(jobs.c.status == PROCESSING, jobs.c.lease_expires < now),
                        ),
                        sa.or_(jobs.c.max_running.is_(None), running_now < jobs.c.max_running),
                    )
                    .values(
                        status=PROCESSING,
                        lease_owner=owner,
                        lease_expires=now + lease,
                        heartbeat_at=now,
                        attempts=jobs.c.attempts + 1,
                        started_at=sa.func.coalesce(jobs.c.started_at, now),
                        updated_at=now,
                        revision=jobs.c.revision + 1,
                    )
                ).rowcount
                if not taken:
                    continue
                row = dict(db.execute(sa.select(jobs).where(jobs.c.id == candidate.id)).one()._mapping)
                if row["attempts"] == 1:
                    self._notify(db, row, EventType.JOB_PROCESSING)
            self.outbox.notify()
            return Claimed(row["id"], dict(row["spec"]), int(row["attempts"]))
        return None

    def heartbeat(self, job_id: str, owner: str, lease: float) -> bool | None:
        """Renew the lease; ``True`` when the client asked to cancel, ``None`` when the lease is lost."""
        now = time.time()
        with self.engine.begin() as db:
            renewed = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == PROCESSING)
                .values(lease_expires=now + lease, heartbeat_at=now)
            ).rowcount
            if not renewed:
                return None
            flag = db.execute(sa.select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar_one()
        return bool(flag)

    def release(self, job_id: str, owner: str) -> bool:
        """Give a running job back to the queue (a worker shutting down); the next claim resumes it."""
        now = time.time()
        with self.engine.begin() as db:
            released = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == PROCESSING)
                .values(status=QUEUED, lease_owner=None, lease_expires=None, updated_at=now)
            ).rowcount
        if released:
            self._queued()
        return bool(released)

    def held_by(self, owner: str) -> list[tuple[str, int]]:
        """The running jobs ``owner`` holds the lease of, with their attempts so far."""
        query = sa.select(jobs.c.id, jobs.c.attempts).where(
            jobs.c.lease_owner == owner, jobs.c.status == PROCESSING
        )
        with self.engine.connect() as db:
            return [(str(i), int(n)) for i, n in db.execute(query)]

    def _queued(self) -> None:
        """Wake the idle workers of this host: a job was queued."""
        if self.wake_workers is not None:
            wake_all(self.wake_workers)

    def progress(
        self, job_id: str, owner: str, *, progress: float, eta: float | None, step: str, steps: list[Any]
    ) -> None:
        """Record progress (the worker throttles these); a ``job.progress`` event goes with it each time
        another tenth of the work is done."""
        now = time.time()
        with self.engine.begin() as db:
            before = db.execute(sa.select(jobs.c.progress).where(jobs.c.id == job_id)).scalar()
            changed = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == PROCESSING)
                .values(
                    progress=progress,
                    eta=eta,
                    step=step,
                    steps=steps,
                    updated_at=now,
                    revision=jobs.c.revision + 1,
                )
            ).rowcount
            if changed and int(10 * progress) > int(10 * (before or 0.0)):
                row = dict(db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)
                self._notify(db, row, EventType.JOB_PROGRESS)

    def finish(
        self,
        job_id: str,
        owner: str,
        status: str,
        *,
        outputs: list[dict[str, Any]] | None = None,
        steps: list[Any] | None = None,
        warnings: Sequence[str] = (),
        error: dict[str, Any] | None = None,
        output_info: Sequence[OutputInfo] = (),
    ) -> bool:
        """End the job (completed, failed or cancelled) if ``owner`` still holds its lease; its events
        (and ``batch.completed`` for the last job of a batch) are enqueued in the same transaction.
        ``False`` when the lease was lost: another worker owns the job, and this outcome is dropped."""
        now = time.time()
        values: dict[str, Any] = {
            "status": status,
            "error": error,
            "warnings": list(warnings),
            "finished_at": now,
            "updated_at": now,
            "lease_expires": None,
            "revision": jobs.c.revision + 1,
        }
        if status == COMPLETED:
            values["progress"] = 1.0
            values["eta"] = 0.0
        if outputs is not None:
            values["outputs"] = outputs
        if steps is not None:
            values["steps"] = steps
        with self.engine.begin() as db:
            changed = db.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.status == PROCESSING)
                .values(**values)
            ).rowcount
            if not changed:
                return False
            row = dict(db.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()._mapping)
            kind = {
                COMPLETED: EventType.JOB_COMPLETED,
                FAILED: EventType.JOB_FAILED,
                CANCELLED: EventType.JOB_CANCELLED,
            }[status]
            self._notify(db, row, kind, outputs=output_info)
            self._finish_batch(db, row)
        self.outbox.notify()
        return True

    # -- events --------------------------------------------------------------------------------
    def _notify(
        self, db: sa.Connection, row: dict[str, Any], kind: EventType, outputs: Sequence[OutputInfo] = ()
    ) -> None:
        if not row["webhook"] or not row["job_events"]:
            return
        duration = None
        if row.get("finished_at") and row.get("started_at"):
            duration = row["finished_at"] - row["started_at"]
        described = (row["spec"] or {}).get("input")
        event = job_event(
            kind,
            job_id=row["id"],
            input=None if not described else InputInfo(**described),
            outputs=outputs,
            duration=duration,
            progress=row["progress"] if kind is EventType.JOB_PROGRESS else None,
            error=row["error"] if kind is EventType.JOB_FAILED else None,
            batch_id=row["batch_id"],
            tag=row["tag"],
        )
        self.outbox.enqueue(event, row["webhook"], key_id=row["key_id"], connection=db)

    def _finish_batch(self, db: sa.Connection, row: dict[str, Any]) -> None:
        """``batch.completed`` once every job of ``row``'s batch has finished (sent once)."""
        if row["batch_id"] is None:
            return
        left = db.execute(
            sa.select(sa.func.count()).where(
                jobs.c.batch_id == row["batch_id"], jobs.c.status.not_in(FINISHED)
            )
        ).scalar_one()
        if left:
            return
        now = time.time()
        closed = db.execute(
            batches.update()
            .where(batches.c.id == row["batch_id"], batches.c.finished_at.is_(None))
            .values(finished_at=now)
        ).rowcount
        batch = db.execute(sa.select(batches).where(batches.c.id == row["batch_id"])).one()
        if not closed or not batch.webhook or batch.callback_mode == "job":
            return
        members = db.execute(
            sa.select(jobs.c.id, jobs.c.status)
            .where(jobs.c.batch_id == row["batch_id"])
            .order_by(jobs.c.created_at, jobs.c.id)
        ).all()
        event = batch_event(
            batch_id=batch.id,
            jobs=[(str(m.id), str(m.status)) for m in members],
            duration=now - batch.created_at,
            tag=batch.tag,
        )
        self.outbox.enqueue(event, batch.webhook, key_id=batch.key_id, connection=db)
