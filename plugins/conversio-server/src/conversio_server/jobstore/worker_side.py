"""What job workers do with jobs: claim one fairly (by key, running limit and lane), hold its lease with
heartbeats, record its progress, give it back, and finish it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa

from conversio_server.jobstore import claim_order
from conversio_server.jobstore.events import JobEvents
from conversio_server.jobstore.tables import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PROCESSING,
    QUEUED,
    count_unfinished,
    held,
    jobs,
    read_job,
    revised,
)
from conversio_server.wakeup import JOBS_CHANNEL, announce
from conversio_server.webhooks import EventType, OutputInfo

if TYPE_CHECKING:
    from conversio_server.outbox import Upload


@attrs.frozen
class Claimed:
    """A job a worker holds the lease of."""

    id: str
    spec: dict[str, Any]
    attempts: int


#: The space of PostgreSQL advisory locks that make the claims of a limited key take turns (any constant).
_KEY_LOCKS = 0x6A6F62
#: The event a job's end enqueues, by its final status.
_ENDED = {
    COMPLETED: EventType.JOB_COMPLETED,
    FAILED: EventType.JOB_FAILED,
    CANCELLED: EventType.JOB_CANCELLED,
}


def _claimable(now: float) -> sa.ColumnElement[bool]:
    """Queued, or running under a lease that expired (its worker is gone)."""
    return sa.or_(jobs.c.status == QUEUED, sa.and_(jobs.c.status == PROCESSING, jobs.c.lease_expires < now))


def _running(table: sa.FromClause, now: float) -> sa.ColumnElement[bool]:
    """Running under a live lease."""
    return sa.and_(table.c.status == PROCESSING, table.c.lease_expires >= now)


def _one_claim_per_key(db: sa.Connection, key_id: str) -> None:
    """On PostgreSQL, wait for the other claims of ``key_id``'s jobs to commit (a lock held until this
    transaction ends): each statement then counts the key's running jobs with the others' claims in
    view, where two claims of two rows would each count the jobs running before both. A claim is a
    few milliseconds, and only claims of keys with a running limit take turns. SQLite needs nothing:
    its write lock already makes claims take turns."""
    if db.dialect.name == "postgresql":
        db.execute(sa.select(sa.func.pg_advisory_xact_lock(_KEY_LOCKS, sa.func.hashtext(key_id))))


class WorkerSide(JobEvents):
    """The calls of the job workers (and of the sync hand-off, which holds a lease like a worker)."""

    def claim(
        self, owner: str, lease: float, admits: Callable[[dict[str, Any]], bool] | None = None
    ) -> Claimed | None:
        """Take one job, fairly: the oldest queued one (or one whose worker's lease expired) of the key
        with the fewest running jobs, among keys under their running limit; so one key's many jobs never
        starve another key's. ``admits`` may turn a job down by its spec (a worker's lane is full,
        :mod:`conversio_server.lanes`); the oldest few of each key and input format are looked at, so a
        key's cheap job is seen behind many slow ones of that key. The ``UPDATE`` only succeeds while the
        job is still claimable and its key still under its limit (counted in the same statement), so two
        workers never both get it nor both start a key's last free slot: SQLite runs the statement under
        its write lock; PostgreSQL locks the row ``FOR UPDATE SKIP LOCKED`` (a job another worker is
        claiming is passed over at once, never waited for) and claims of a limited key's jobs take
        turns (:func:`_one_claim_per_key`)."""
        now = time.time()
        candidates, running = self._candidates(now)
        for candidate in sorted(candidates, key=lambda c: (running.get(c.key_id, 0), c.created_at, c.id)):
            if (
                candidate.max_running is not None
                and running.get(candidate.key_id, 0) >= candidate.max_running
            ):
                continue
            if admits is not None and not admits(dict(candidate.spec)):
                continue
            claimed = self._take(candidate, owner, lease, now)
            if claimed is not None:
                return claimed
        return None

    def _candidates(self, now: float) -> tuple[Sequence[sa.Row[Any]], dict[str, int]]:
        """The jobs a claim looks at, oldest first (:mod:`.claim_order`), and the running jobs of each key."""
        with self.engine.connect() as db:
            candidates = db.execute(claim_order.looked_at(db.dialect.name), {"now": now}).all()
            running = {
                str(k): int(n)
                for k, n in db.execute(
                    sa.select(jobs.c.key_id, sa.func.count())
                    .where(_running(jobs, now))
                    .group_by(jobs.c.key_id)
                )
            }
        return candidates, running

    def _take(self, candidate: sa.Row[Any], owner: str, lease: float, now: float) -> Claimed | None:
        """Lease ``candidate`` to ``owner`` if it is still claimable and its key still under its limit."""
        job_id = str(candidate.id)
        others, target = jobs.alias("others"), jobs.alias("target")
        running_now = (
            sa.select(sa.func.count())
            .where(others.c.key_id == jobs.c.key_id, _running(others, now))
            .scalar_subquery()
        )
        # nothing on SQLite; on PostgreSQL the row, unless another claim has it (then none)
        unlocked = sa.select(target.c.id).where(target.c.id == job_id).with_for_update(skip_locked=True)
        with self.engine.begin() as db:
            if candidate.max_running is not None:
                _one_claim_per_key(db, str(candidate.key_id))
            taken = db.execute(
                jobs.update()
                .where(
                    jobs.c.id == job_id,  # looked up by id: else SQLite goes through every claimable job
                    jobs.c.id.in_(unlocked),
                    _claimable(now),
                    sa.or_(jobs.c.max_running.is_(None), running_now < jobs.c.max_running),
                )
                .values(
                    status=PROCESSING,
                    lease_owner=owner,
                    lease_expires=now + lease,
                    heartbeat_at=now,
                    attempts=jobs.c.attempts + 1,
                    started_at=sa.func.coalesce(jobs.c.started_at, now),
                    **revised(now),
                )
            ).rowcount
            if not taken:
                return None
            row = read_job(db, job_id)
            if row["attempts"] == 1:
                self._notify(db, row, EventType.JOB_PROCESSING)
        self.outbox.notify()
        return Claimed(row["id"], dict(row["spec"]), int(row["attempts"]))

    def heartbeat(self, job_id: str, owner: str, lease: float) -> bool | None:
        """Renew the lease; ``True`` when the client asked to cancel, ``None`` when the lease is lost."""
        now = time.time()
        with self.engine.begin() as db:
            renewed = db.execute(
                jobs.update().where(held(job_id, owner)).values(lease_expires=now + lease, heartbeat_at=now)
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
                .where(held(job_id, owner))
                .values(status=QUEUED, lease_owner=None, lease_expires=None, updated_at=now)
            ).rowcount
            if released:
                announce(db, JOBS_CHANNEL)
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
                .where(held(job_id, owner))
                .values(progress=progress, eta=eta, step=step, steps=steps, **revised(now))
            ).rowcount
            if changed and int(10 * progress) > int(10 * (before or 0.0)):
                self._notify(db, read_job(db, job_id), EventType.JOB_PROGRESS)

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
        uploads: Sequence[tuple[str, Upload]] = (),
    ) -> bool:
        """End the job (completed, failed or cancelled) if ``owner`` still holds its lease; its events
        (and ``batch.completed`` for the last job of a batch) and ``uploads`` (``(url, upload)``: the
        files its spec asked to send, see :mod:`conversio_server.deliveries`) are enqueued in the same
        transaction. ``False`` when the lease was lost: another worker owns the job, and this outcome
        is dropped."""
        now = time.time()
        values: dict[str, Any] = {
            "status": status,
            "error": error,
            "warnings": list(warnings),
            "finished_at": now,
            "lease_expires": None,
            **revised(now),
        }
        if status == COMPLETED:
            values["progress"] = 1.0
            values["eta"] = 0.0
        if outputs is not None:
            values["outputs"] = outputs
        if steps is not None:
            values["steps"] = steps
        with self.engine.begin() as db:
            changed = db.execute(jobs.update().where(held(job_id, owner)).values(**values)).rowcount
            if not changed:
                return False
            row = read_job(db, job_id)
            self._notify(db, row, _ENDED[status], outputs=output_info)
            for url, upload in uploads:
                self.outbox.enqueue_upload(upload, url, key_id=row["key_id"], connection=db)
            self._finish_batch(db, row)
            count_unfinished(db, {row["key_id"]: -1})
        self.outbox.notify()
        return True
