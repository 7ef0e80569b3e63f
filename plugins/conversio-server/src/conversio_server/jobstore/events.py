"""What a change to a job tells others: the webhook events it enqueues in its own transaction
(``job.*``, and ``batch.completed`` once a batch's last job finishes) and the idle workers it wakes.

:class:`JobEvents` is the base of both sides of the store (:mod:`.client_side`, :mod:`.worker_side`)
and names the state they share, which :class:`~conversio_server.jobstore.store.JobStore` sets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conversio_server.jobstore.tables import FINISHED, batches, jobs
from conversio_server.outbox import Outbox
from conversio_server.wakeup import wake_all
from conversio_server.webhooks import EventType, InputInfo, OutputInfo, batch_event, job_event


class JobEvents:
    """The events of the changes of a store's jobs."""

    #: The database of the jobs.
    engine: sa.Engine
    #: Where the events go (the webhook deliveries of the same database).
    outbox: Outbox
    #: The folder of the sockets of this host's job workers to wake when a job is queued.
    wake_workers: Path | None

    def _notify(
        self, db: sa.Connection, row: dict[str, Any], kind: EventType, outputs: Sequence[OutputInfo] = ()
    ) -> None:
        """Enqueue the ``kind`` event of the job ``row`` if the job has a webhook that wants job events."""
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
        # the batch's last two jobs may end at once: on PostgreSQL each would count the other as
        # running and neither send the event; the row lock makes them take turns (SQLite's write
        # lock already does), and the count after it sees the other's committed end
        db.execute(sa.select(batches.c.id).where(batches.c.id == row["batch_id"]).with_for_update())
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

    def _queued(self) -> None:
        """Wake the idle workers of this host: a job was queued (on PostgreSQL the change's transaction
        also notifies every host's, :func:`~conversio_server.wakeup.announce`)."""
        if self.wake_workers is not None:
            wake_all(self.wake_workers)
