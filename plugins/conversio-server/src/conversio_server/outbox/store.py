"""The durable outbox: webhook deliveries stored in the server's database, and their leases.

The jobs code writes deliveries here (:meth:`Outbox.enqueue`, in its own transaction when it
likes); dispatchers claim the due ones, record each attempt and what follows from it, and are
woken when a delivery is written (:meth:`Outbox.notify`). Endpoints a receiver disabled with
``410 Gone`` are remembered here too.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from conversio_server.database import create_engine, create_tables, utc
from conversio_server.outbox.records import Attempt, Claim, Delivery, DeliveryStatus, Outcome, Upload
from conversio_server.outbox.tables import attempts, deliveries, endpoint_id, endpoints
from conversio_server.wakeup import OUTBOX_CHANNEL, NotifyListener, announce, wake
from conversio_server.webhooks import WebhookEvent

#: The state a delivery ends in after an attempt with each final outcome.
_FINAL_STATUS = {
    Outcome.DELIVERED: DeliveryStatus.DELIVERED,
    Outcome.FAILED: DeliveryStatus.FAILED,
    Outcome.DISABLED: DeliveryStatus.DISABLED,
}


def _delivery(row: Any, log_rows: Sequence[Any] = ()) -> Delivery:
    status = DeliveryStatus(row.status)
    created, updated = utc(row.created_at), utc(row.updated_at)
    assert created is not None and updated is not None
    return Delivery(
        id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        job_id=row.job_id,
        batch_id=row.batch_id,
        url=row.url,
        status=status,
        attempts=row.attempts,
        next_attempt_at=utc(row.next_attempt_at) if status is DeliveryStatus.PENDING else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=created,
        updated_at=updated,
        finished_at=utc(row.finished_at),
        attempt_log=tuple(
            Attempt(
                number=a.number,
                started_at=utc(a.started_at) or created,
                duration=a.duration,
                outcome=Outcome(a.outcome),
                status_code=a.status_code,
                error=a.error,
            )
            for a in log_rows
        ),
    )


def _request(stored: Any) -> dict[str, Any]:
    """The method and headers of an :class:`Upload`'s row (none for an event's)."""
    if not stored:
        return {}
    return {"method": str(stored.get("method") or "POST"), "headers": dict(stored.get("headers") or {})}


class _Row:
    """Column values seen as a row (for a delivery just written)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update({column.name: None for column in deliveries.columns})
        self.__dict__.update(values)


def _not_sent(reason: str | None) -> str:
    return f"not sent: the endpoint is disabled ({reason})"


def _disabled(db: sa.Connection, endpoint: str) -> Any:
    """The ``reason`` row of ``endpoint`` when it is disabled, else ``None``."""
    return db.execute(
        sa.select(endpoints.c.reason).where(endpoints.c.id == endpoint, endpoints.c.disabled_at.is_not(None))
    ).first()


def _read(db: sa.Connection, condition: Any) -> list[Delivery]:
    """The deliveries matching ``condition``, oldest first, each with its attempts."""
    rows = db.execute(
        sa.select(deliveries).where(condition).order_by(deliveries.c.created_at, deliveries.c.id)
    ).all()
    ids = [row.id for row in rows]
    log_rows = (
        db.execute(sa.select(attempts).where(attempts.c.delivery_id.in_(ids)).order_by(attempts.c.id)).all()
        if ids
        else []
    )
    by_delivery: dict[str, list[Any]] = {}
    for attempt in log_rows:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    return [_delivery(row, by_delivery.get(row.id, ())) for row in rows]


def _values(
    url: str,
    key_id: str | None,
    *,
    event_type: str,
    body: bytes,
    job_id: str | None = None,
    batch_id: str | None = None,
    event_id: str | None = None,
    delay: float = 0.0,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of a new pending delivery."""
    now = datetime.now(UTC)
    return {
        "id": "whd_" + secrets.token_urlsafe(16),
        "event_id": event_id or "evt_" + secrets.token_urlsafe(16),
        "event_type": event_type,
        "job_id": job_id,
        "batch_id": batch_id,
        "key_id": key_id,
        "url": url,
        "endpoint": endpoint_id(url, key_id),
        "body": body,
        "request": request,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now + timedelta(seconds=max(0.0, delay)),
        "created_at": now,
        "updated_at": now,
    }


class Outbox:
    """The deliveries table of the database at ``database`` (a URL, or an engine shared with others).

    Thread-safe, and safe to open from several processes on the same database.
    """

    def __init__(self, database: str | sa.Engine, wake_path: Path | None = None) -> None:
        """``wake_path``: the Unix socket of a dispatcher in another process to wake on :meth:`notify`."""
        self.wake_path = wake_path
        self._owns_engine = isinstance(database, str)
        self.engine = create_engine(database) if isinstance(database, str) else database
        if not self._owns_engine:
            create_tables(self.engine)
        self._listeners: set[threading.Event] = set()
        self._lock = threading.Lock()
        #: On PostgreSQL, while dispatchers listen: wakes them for deliveries other hosts enqueue.
        self._notified = NotifyListener(self.engine, OUTBOX_CHANNEL, self._wake_listeners)

    def close(self) -> None:
        self._notified.stop()
        if self._owns_engine:
            self.engine.dispose()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the jobs code's side

    def enqueue(
        self,
        event: WebhookEvent,
        url: str,
        *,
        key_id: str | None,
        event_id: str | None = None,
        delay: float = 0.0,
        connection: sa.Connection | None = None,
    ) -> Delivery:
        """Store ``event`` for delivery to ``url``, signed with ``key_id``'s secret; returns at once.

        ``event_id`` (the ``webhook-id``; default: a new ``evt_…``) may be given to send one
        event to several URLs under one id. ``delay`` postpones the first attempt. When the
        endpoint is disabled, the delivery is recorded as ``disabled`` and never sent.

        With ``connection`` (one of this database's, inside a transaction) the delivery is
        written in the caller's transaction, so that it exists if and only if the job's own
        change is committed; call :meth:`notify` after the commit to have it sent at once
        rather than at the dispatchers' next poll.
        """
        values = _values(
            url,
            key_id,
            event_id=event_id,
            event_type=event.type.value,
            job_id=event.job_id,
            batch_id=event.batch_id,
            body=event.body(),
            delay=delay,
        )
        return self._write(values, connection)

    def enqueue_upload(
        self, upload: Upload, url: str, *, key_id: str | None, connection: sa.Connection | None = None
    ) -> Delivery:
        """Store ``upload`` for delivery to ``url`` with its method and headers, signed with
        ``key_id``'s secret, retried and recorded as events are; returns at once. With ``connection``
        it is written in that transaction (the caller commits, then calls :meth:`notify`)."""
        values = _values(
            url,
            key_id,
            event_type=upload.kind,
            job_id=upload.job_id,
            body=upload.content,
            request={"method": upload.method, "headers": dict(upload.headers)},
        )
        return self._write(values, connection)

    def _write(self, values: dict[str, Any], connection: sa.Connection | None) -> Delivery:
        if connection is None:
            with self.engine.begin() as db:
                self._insert(db, values)
            if values["status"] == DeliveryStatus.PENDING.value:
                self.notify()
        else:
            self._insert(connection, values)
        return _delivery(_Row(values))

    def _insert(self, db: sa.Connection, values: dict[str, Any]) -> None:
        disabled = _disabled(db, values["endpoint"])
        if disabled is not None:
            values.update(
                status=DeliveryStatus.DISABLED.value,
                finished_at=values["created_at"],
                last_error=_not_sent(disabled.reason),
            )
        db.execute(deliveries.insert().values(**values))
        if values["status"] == DeliveryStatus.PENDING.value:
            announce(db, OUTBOX_CHANNEL)

    def get(self, delivery_id: str) -> Delivery:
        """The delivery ``delivery_id`` with its attempts (``KeyError`` if there is none)."""
        with self.engine.connect() as db:
            found = _read(db, deliveries.c.id == delivery_id)
        if not found:
            raise KeyError(delivery_id)
        return found[0]

    def deliveries_for(self, job_id: str | None = None, *, batch_id: str | None = None) -> list[Delivery]:
        """The deliveries of a job (or of a batch's own events), oldest first, each with its attempts."""
        if (job_id is None) == (batch_id is None):
            raise TypeError("deliveries_for takes a job id or a batch id")
        condition = deliveries.c.job_id == job_id if job_id is not None else deliveries.c.batch_id == batch_id
        if batch_id is not None:
            condition = sa.and_(condition, deliveries.c.job_id.is_(None))
        with self.engine.connect() as db:
            return _read(db, condition)

    def pending_count(self) -> int:
        """Deliveries waiting for an attempt (the queue depth)."""
        with self.engine.connect() as db:
            value = db.execute(
                sa.select(sa.func.count())
                .select_from(deliveries)
                .where(deliveries.c.status == DeliveryStatus.PENDING.value)
            ).scalar()
        return int(value or 0)

    def prune(self, finished_before: datetime) -> int:
        """Forget deliveries (and their attempts) that finished before ``finished_before``; how many."""
        old = sa.select(deliveries.c.id).where(
            deliveries.c.finished_at.is_not(None), deliveries.c.finished_at < finished_before
        )
        with self.engine.begin() as db:
            db.execute(attempts.delete().where(attempts.c.delivery_id.in_(old)))
            result = db.execute(deliveries.delete().where(deliveries.c.id.in_(old)))
        return int(result.rowcount or 0)

    def enable_endpoint(self, url: str, key_id: str | None) -> bool:
        """Send to ``url`` again (deliveries disabled meanwhile stay so); ``False`` if it was not disabled."""
        with self.engine.begin() as db:
            result = db.execute(
                endpoints.update()
                .where(endpoints.c.id == endpoint_id(url, key_id), endpoints.c.disabled_at.is_not(None))
                .values(disabled_at=None, reason=None)
            )
        return bool(result.rowcount)

    # the dispatchers' side

    def claim(self, owner: str, limit: int, lease: float) -> list[Claim]:
        """Take the lease of up to ``limit`` due deliveries for ``lease`` seconds; counts their attempt.

        One conditional ``UPDATE``: a delivery is claimed by one caller only, whatever the
        number of dispatchers and processes. On PostgreSQL the due rows are locked ``FOR UPDATE
        SKIP LOCKED``, so concurrent dispatchers take different deliveries and never wait for
        each other; SQLite runs the statement under its write lock.
        """
        if limit < 1:
            return []
        now = datetime.now(UTC)
        token = f"{owner}:{secrets.token_hex(6)}"
        due = sa.and_(
            deliveries.c.status == DeliveryStatus.PENDING.value,
            deliveries.c.next_attempt_at <= now,
            sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now),
        )
        candidates = (
            sa.select(deliveries.c.id)
            .where(due)
            .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            .limit(limit)
        )
        with self.engine.connect() as db:  # a read first: polling an idle outbox takes no write lock
            if db.execute(candidates.limit(1)).first() is None:
                return []
        # computed once (a subquery with a LIMIT may be run again for each row PostgreSQL updates)
        picked = (
            candidates.with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        with self.engine.begin() as db:
            result = db.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(sa.select(picked.c.id)), due)  # due again
                .values(
                    lease_owner=token,
                    lease_until=now + timedelta(seconds=lease),
                    attempts=deliveries.c.attempts + 1,
                    updated_at=now,
                )
            )
            if not result.rowcount:
                return []
            rows = db.execute(
                sa.select(deliveries)
                .where(deliveries.c.lease_owner == token)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
            ).all()
        return [
            Claim(
                id=row.id,
                event_id=row.event_id,
                key_id=row.key_id,
                url=row.url,
                endpoint=row.endpoint,
                body=bytes(row.body),
                attempt=row.attempts,
                created_at=utc(row.created_at) or now,
                lease_owner=token,
                **_request(row.request),
            )
            for row in rows
        ]

    def release(self, claim: Claim) -> None:
        """Give a claimed delivery back untried: due again at once, its attempt not counted."""
        with self.engine.begin() as db:
            db.execute(
                deliveries.update()
                .where(deliveries.c.id == claim.id, deliveries.c.lease_owner == claim.lease_owner)
                .values(lease_owner=None, lease_until=None, attempts=deliveries.c.attempts - 1)
            )

    def finish(
        self,
        claim: Claim,
        attempt: Attempt,
        *,
        retry_in: float | None = None,
        disable_reason: str | None = None,
    ) -> bool:
        """Record ``attempt`` and what follows from it; ``False`` when the lease was lost meanwhile.

        ``attempt.outcome`` decides: delivered, retry (in ``retry_in`` seconds), failed, or
        disabled (with ``disable_reason``: the endpoint is disabled and its other pending
        deliveries too).
        """
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
            "last_status_code": attempt.status_code,
            "last_error": attempt.error,
        }
        if attempt.outcome is Outcome.RETRY:
            values["next_attempt_at"] = now + timedelta(seconds=retry_in or 0.0)
        else:
            values["status"] = _FINAL_STATUS[attempt.outcome].value
            values["finished_at"] = now
        with self.engine.begin() as db:
            log_row = attrs.asdict(attempt) | {"delivery_id": claim.id, "outcome": attempt.outcome.value}
            db.execute(attempts.insert().values(**log_row))
            updated = db.execute(
                deliveries.update()
                .where(
                    deliveries.c.id == claim.id,
                    deliveries.c.lease_owner == claim.lease_owner,
                    deliveries.c.status == DeliveryStatus.PENDING.value,
                )
                .values(**values)
            )
            if disable_reason is not None:
                self._disable(db, claim, disable_reason, now)
        return bool(updated.rowcount)

    def _disable(self, db: sa.Connection, claim: Claim, reason: str, now: datetime) -> None:
        changed = db.execute(
            endpoints.update().where(endpoints.c.id == claim.endpoint).values(disabled_at=now, reason=reason)
        )
        if not changed.rowcount:
            db.execute(
                endpoints.insert().values(
                    id=claim.endpoint, key_id=claim.key_id, url=claim.url, disabled_at=now, reason=reason
                )
            )
        db.execute(
            deliveries.update()
            .where(
                deliveries.c.endpoint == claim.endpoint,
                deliveries.c.status == DeliveryStatus.PENDING.value,
                deliveries.c.id != claim.id,
            )
            .values(
                status=DeliveryStatus.DISABLED.value,
                lease_owner=None,
                lease_until=None,
                finished_at=now,
                updated_at=now,
                last_error=_not_sent(reason),
            )
        )

    def disabled_reason(self, url: str, key_id: str | None) -> str | None:
        """Why ``key_id``'s endpoint ``url`` is disabled, or ``None`` when it is not."""
        with self.engine.connect() as db:
            row = _disabled(db, endpoint_id(url, key_id))
        return None if row is None else str(row.reason or "disabled")

    # waking dispatchers of this process

    def listen(self, wake: threading.Event) -> None:
        """Have :meth:`notify` (and on PostgreSQL an enqueue on any host) set ``wake`` (a dispatcher's
        event) until :meth:`unlisten`."""
        with self._lock:
            first = not self._listeners
            self._listeners.add(wake)
        if first:
            self._notified.start()

    def unlisten(self, wake: threading.Event) -> None:
        with self._lock:
            self._listeners.discard(wake)
            last = not self._listeners
        if last:
            self._notified.stop()

    def notify(self) -> None:
        """Wake this process's dispatchers, and the one at ``wake_path`` (an enqueue without
        ``connection`` does it by itself)."""
        self._wake_listeners()
        if self.wake_path is not None:
            wake(self.wake_path)

    def _wake_listeners(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for event in listeners:
            event.set()
