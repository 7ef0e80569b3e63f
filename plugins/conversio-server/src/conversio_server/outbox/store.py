"""The webhook outbox: deliveries persisted in the server's database, sent by dispatchers with retries.

Jobs code calls :meth:`Outbox.enqueue` (in the same process or another one); a
:class:`Dispatcher` (a thread and a bounded pool, one or more per database, in any process)
claims due deliveries, signs them (:func:`conversio.webhooks.sign_webhook`, with the key's
secret at the time of sending) and POSTs them through the SSRF-safe
:class:`~conversio_server.outbound.OutboundClient`.

Guarantees and rules:

* At least once. A delivery is claimed with a lease (an atomic conditional ``UPDATE``), so two
  dispatchers never send it at the same time; a dispatcher that dies mid-send leaves a lease
  that expires, and the delivery is sent again, with the same ``webhook-id``.
* A ``2xx`` answer delivers. ``410 Gone`` disables the endpoint (the key's URL): that delivery
  and every pending or later one to it are marked ``disabled`` and never sent, until
  :meth:`Outbox.enable_endpoint`. A URL the outbound policy refuses (a private address, …)
  fails at once, without a connection and without retries. Anything else (another status, a
  timeout, a refused connection) is retried on the :class:`RetrySchedule`, and after the
  last attempt the delivery is ``failed``.
* Every attempt is recorded (when, how long, the status or error) and shown by
  :meth:`Outbox.deliveries_for`. Deliveries are not ordered: a receiver orders events by
  their ``timestamp`` and deduplicates them by ``webhook-id``.
"""

from __future__ import annotations

import enum
import hashlib
import heapq
import logging
import math
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from conversio.errors import InvalidOption
from conversio.webhooks import Secrets, sign_webhook
from conversio_server.database import create_engine, metadata, utc
from conversio_server.errors import ApiError
from conversio_server.outbound import OutboundClient, OutboundPolicy
from conversio_server.wakeup import wake
from conversio_server.webhooks import WebhookEvent

log = logging.getLogger(__name__)

#: The default retry delays (seconds) after the 1st, 2nd, … failed attempt: 5 s, 30 s, 2 min,
#: 10 min, 1 h, 3 h, 6 h, 12 h, so nine attempts over up to 22 hours.
DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
#: Bytes of a receiver's answer that are read (and thrown away).
MAX_ANSWER_BYTES = 4096
_ERROR_TEXT = 500  # characters of an error message kept per attempt


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for its first or next attempt (or being sent)
    DELIVERED = "delivered"
    FAILED = "failed"  # given up: attempts exhausted, URL refused, or no signing secret
    DISABLED = "disabled"  # the endpoint answered 410 Gone (now or before)


class Outcome(str, enum.Enum):
    """What one attempt came to (the ``outcome`` label of the deliveries metric)."""

    DELIVERED = "delivered"
    RETRY = "retry"  # failed, another attempt is scheduled
    FAILED = "failed"  # failed, no attempt is left (or none makes sense)
    DISABLED = "disabled"


deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("job_id", sa.String(64), nullable=True, index=True),
    sa.Column("batch_id", sa.String(64), nullable=True, index=True),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False, index=True),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_owner", sa.String(80), nullable=True, index=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id",
        sa.String(40),
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("duration", sa.Float, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
)

endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
)


def _now() -> datetime:
    return datetime.now(UTC)


def endpoint_id(url: str, key_id: str | None) -> str:
    """The endpoint a delivery goes to: one key's URL (a 410 from it disables it for that key only)."""
    return hashlib.sha256(f"{key_id or ''}\n{url}".encode("utf-8", "surrogatepass")).hexdigest()


# retry schedule

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def _delays(value: Sequence[float] | str) -> tuple[float, ...]:
    if isinstance(value, str):
        return RetrySchedule.parse(value).delays
    result = tuple(float(v) for v in value)
    if any(not math.isfinite(v) or v < 0 for v in result):
        raise InvalidOption(f"retry delays are seconds >= 0, not {value!r}", option="webhook_retries")
    return result


@attrs.frozen(kw_only=True)
class RetrySchedule:
    """When failed deliveries are tried again.

    ``delays[n]`` is the wait after the ``n+1``-th failed attempt, so a delivery gets at most
    ``len(delays) + 1`` attempts. With ``jitter`` (full jitter) each wait is drawn uniformly
    from ``[0, delay]``, which spreads the retries of many deliveries that failed together.
    A receiver's ``Retry-After`` (seconds) lengthens a wait, up to ``max_retry_after``.
    """

    delays: tuple[float, ...] = attrs.field(default=DEFAULT_RETRY_DELAYS, converter=_delays)
    jitter: bool = True
    max_retry_after: float = 24 * 3600.0

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (from 1); ``None`` when none is left."""
        if attempt < 1 or attempt > len(self.delays):
            return None
        cap = self.delays[attempt - 1]
        wait = (rng or random).uniform(0.0, cap) if self.jitter else cap
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait

    @classmethod
    def parse(cls, text: str, *, jitter: bool = True) -> RetrySchedule:
        """A schedule from text such as ``"5s, 30s, 2m, 10m, 1h, 3h, 6h, 12h"`` (a bare number is seconds)."""
        values: list[float] = []
        for part in text.split(","):
            if not part.strip():
                continue
            match = _DURATION.match(part)
            if match is None:
                raise InvalidOption(
                    f"{part.strip()!r} is not a duration such as 30s, 2m, 1h", option="webhook_retries"
                )
            values.append(float(match.group(1)) * _UNIT[(match.group(2) or "s").lower()])
        return cls(delays=tuple(values), jitter=jitter)


def webhook_policy(base: OutboundPolicy) -> OutboundPolicy:
    """``base`` (the server's outbound policy: its allow list, ports, schemes) with the short timeouts
    a webhook gets: 10 s to connect, 30 s for the whole request."""
    return attrs.evolve(
        base,
        connect_timeout=min(base.connect_timeout, 10.0),
        read_timeout=min(base.read_timeout, 30.0),
        total_timeout=min(base.total_timeout, 30.0),
    )


# what the outbox reports


@attrs.frozen
class Attempt:
    """One try: its number (from 1), when it started, how long it took, and what came of it."""

    number: int
    started_at: datetime
    duration: float
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "startedAt": _text(self.started_at),
            "durationMs": round(self.duration * 1000, 1),
            "outcome": self.outcome.value,
            "statusCode": self.status_code,
            "error": self.error,
        }


@attrs.frozen
class Delivery:
    """One event on its way to one URL, as ``GET /v1/jobs/{id}/webhooks`` shows it."""

    id: str
    event_id: str
    event_type: str
    job_id: str | None
    batch_id: str | None
    url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    attempt_log: tuple[Attempt, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "eventId": self.event_id,
            "event": self.event_type,
            "jobId": self.job_id,
            "batchId": self.batch_id,
            "url": self.url,
            "status": self.status.value,
            "attempts": self.attempts,
            "nextAttemptAt": _text(self.next_attempt_at),
            "lastStatusCode": self.last_status_code,
            "lastError": self.last_error,
            "createdAt": _text(self.created_at),
            "updatedAt": _text(self.updated_at),
            "finishedAt": _text(self.finished_at),
            "attemptLog": [attempt.to_dict() for attempt in self.attempt_log],
        }


def _text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@attrs.frozen
class Claim:
    """A delivery a dispatcher holds the lease of: what it needs to send it."""

    id: str
    event_id: str
    key_id: str | None
    url: str
    endpoint: str
    body: bytes
    attempt: int  # the number of the attempt about to be made
    created_at: datetime
    lease_owner: str


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


class _Row:
    """Column values seen as a row (for a delivery just written)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update({column.name: None for column in deliveries.columns})
        self.__dict__.update(values)


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
            metadata.create_all(self.engine)
        self._listeners: set[threading.Event] = set()
        self._lock = threading.Lock()

    def close(self) -> None:
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
        now = _now()
        endpoint = endpoint_id(url, key_id)
        values: dict[str, Any] = {
            "id": "whd_" + secrets.token_urlsafe(16),
            "event_id": event_id or "evt_" + secrets.token_urlsafe(16),
            "event_type": event.type.value,
            "job_id": event.job_id,
            "batch_id": event.batch_id,
            "key_id": key_id,
            "url": url,
            "endpoint": endpoint,
            "body": event.body(),
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now + timedelta(seconds=max(0.0, delay)),
            "created_at": now,
            "updated_at": now,
        }
        if connection is None:
            with self.engine.begin() as db:
                self._insert(db, values)
            if values["status"] == DeliveryStatus.PENDING.value:
                self.notify()
        else:
            self._insert(connection, values)
        return _delivery(_Row(values))

    def _insert(self, db: sa.Connection, values: dict[str, Any]) -> None:
        disabled = db.execute(
            sa.select(endpoints.c.reason).where(
                endpoints.c.id == values["endpoint"], endpoints.c.disabled_at.is_not(None)
            )
        ).first()
        if disabled is not None:
            values.update(
                status=DeliveryStatus.DISABLED.value,
                finished_at=values["created_at"],
                last_error=f"not sent: the endpoint is disabled ({disabled.reason})",
            )
        db.execute(deliveries.insert().values(**values))

    def get(self, delivery_id: str) -> Delivery:
        """The delivery ``delivery_id`` with its attempts (``KeyError`` if there is none)."""
        with self.engine.connect() as db:
            row = db.execute(sa.select(deliveries).where(deliveries.c.id == delivery_id)).first()
            if row is None:
                raise KeyError(delivery_id)
            log_rows = db.execute(
                sa.select(attempts).where(attempts.c.delivery_id == delivery_id).order_by(attempts.c.id)
            ).all()
        return _delivery(row, log_rows)

    def deliveries_for(self, job_id: str | None = None, *, batch_id: str | None = None) -> list[Delivery]:
        """The deliveries of a job (or of a batch's own events), oldest first, each with its attempts."""
        if (job_id is None) == (batch_id is None):
            raise TypeError("deliveries_for takes a job id or a batch id")
        condition = deliveries.c.job_id == job_id if job_id is not None else deliveries.c.batch_id == batch_id
        if batch_id is not None:
            condition = sa.and_(condition, deliveries.c.job_id.is_(None))
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(deliveries).where(condition).order_by(deliveries.c.created_at, deliveries.c.id)
            ).all()
            ids = [row.id for row in rows]
            log_rows = (
                db.execute(
                    sa.select(attempts).where(attempts.c.delivery_id.in_(ids)).order_by(attempts.c.id)
                ).all()
                if ids
                else []
            )
        by_delivery: dict[str, list[Any]] = {}
        for attempt in log_rows:
            by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
        return [_delivery(row, by_delivery.get(row.id, ())) for row in rows]

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
        number of dispatchers and processes.
        """
        if limit < 1:
            return []
        now = _now()
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
        with self.engine.begin() as db:
            result = db.execute(
                deliveries.update()
                .where(deliveries.c.id.in_(candidates), due)  # due again: PostgreSQL re-checks
                .values(
                    lease_owner=token,
                    lease_until=now + timedelta(seconds=lease),
                    attempts=deliveries.c.attempts + 1,
                    updated_at=now,
                )
            )
            if not result.rowcount:
                return []
            rows = db.execute(sa.select(deliveries).where(deliveries.c.lease_owner == token)).all()
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
        now = _now()
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
            values["status"] = {
                Outcome.DELIVERED: DeliveryStatus.DELIVERED,
                Outcome.FAILED: DeliveryStatus.FAILED,
                Outcome.DISABLED: DeliveryStatus.DISABLED,
            }[attempt.outcome].value
            values["finished_at"] = now
        with self.engine.begin() as db:
            db.execute(
                attempts.insert().values(
                    delivery_id=claim.id,
                    number=attempt.number,
                    started_at=attempt.started_at,
                    duration=attempt.duration,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    outcome=attempt.outcome.value,
                )
            )
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
                last_error=f"not sent: the endpoint is disabled ({reason})",
            )
        )

    def disabled_reason(self, url: str, key_id: str | None) -> str | None:
        """Why ``key_id``'s endpoint ``url`` is disabled, or ``None`` when it is not."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(endpoints.c.reason).where(
                    endpoints.c.id == endpoint_id(url, key_id), endpoints.c.disabled_at.is_not(None)
                )
            ).first()
        return None if row is None else str(row.reason or "disabled")

    # waking dispatchers of this process

    def _listen(self, wake: threading.Event) -> None:
        with self._lock:
            self._listeners.add(wake)

    def _unlisten(self, wake: threading.Event) -> None:
        with self._lock:
            self._listeners.discard(wake)

    def notify(self) -> None:
        """Wake this process's dispatchers, and the one at ``wake_path`` (an enqueue without
        ``connection`` does it by itself)."""
        with self._lock:
            listeners = list(self._listeners)
        for event in listeners:
            event.set()
        if self.wake_path is not None:
            wake(self.wake_path)


# metrics


class WebhookMetrics:
    """What ``/metrics`` shows about webhooks: attempts by outcome, delivery latency, queue depth."""

    def __init__(self, registry: CollectorRegistry, outbox: Outbox | None = None) -> None:
        self.deliveries = Counter(
            "conversio_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (failed, tried again later), "
            "failed (given up) or disabled (the endpoint answered 410 Gone).",
            ["outcome"],
            registry=registry,
        )
        for outcome in Outcome:
            self.deliveries.labels(outcome.value)
        self.latency = Histogram(
            "conversio_webhook_delivery_latency_seconds",
            "From an event's creation to its successful delivery, retries included.",
            buckets=(0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 30.0, 120.0, 600.0, 3600.0, 6 * 3600.0, 86400.0),
            registry=registry,
        )
        self.attempt_duration = Histogram(
            "conversio_webhook_attempt_duration_seconds",
            "How long one delivery attempt (the HTTP request) took.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
            registry=registry,
        )
        self.queue_depth = Gauge(
            "conversio_webhook_queue_depth",
            "Webhook deliveries waiting for their first or next attempt.",
            registry=registry,
        )
        if outbox is not None:
            self.queue_depth.set_function(lambda: _safe_count(outbox))

    def observe(self, claim: Claim, attempt: Attempt) -> None:
        self.deliveries.labels(attempt.outcome.value).inc()
        self.attempt_duration.observe(attempt.duration)
        if attempt.outcome is Outcome.DELIVERED:
            self.latency.observe(max(0.0, (_now() - claim.created_at).total_seconds()))


def _safe_count(outbox: Outbox) -> float:
    try:
        return float(outbox.pending_count())
    except sa.exc.SQLAlchemyError:
        return math.nan


def register_webhook_metrics(registry: CollectorRegistry, outbox: Outbox | None = None) -> WebhookMetrics:
    """Add the webhook metrics to ``registry`` (the app's ``Metrics.registry``); give them to the dispatchers.

    With ``outbox``, the queue depth is read from the database at each scrape.
    """
    return WebhookMetrics(registry, outbox)


# sending

#: ``key_id -> secret(s)`` to sign with (``None``: the key has none, the delivery fails).
SecretLookup = Callable[[str | None], Secrets | None]


def _retry_after(headers: Any) -> float | None:
    value = str(headers.get("retry-after") or headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    return None


class Dispatcher:
    """Sends the outbox's due deliveries: a claiming thread and a pool of ``concurrency`` senders.

    ``client`` is the server's :class:`OutboundClient` (made with :func:`webhook_policy`);
    ``secret_for`` gives the secret(s) of a key id (e.g. ``KeyStore.signing_secrets``).
    ``lease`` (default: the client's total timeout plus 30 s) is how long a claimed delivery
    is reserved; ``poll_interval`` how often the database is asked for due deliveries when
    nothing wakes the dispatcher: an enqueue in this process does, a worker's datagram does, and so
    does the time of a retry this dispatcher scheduled.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: OutboundClient,
        secret_for: SecretLookup,
        *,
        schedule: RetrySchedule | None = None,
        concurrency: int = 4,
        poll_interval: float = 2.0,
        lease: float | None = None,
        metrics: WebhookMetrics | None = None,
        name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidOption("a dispatcher needs a concurrency of at least 1", option="concurrency")
        self.outbox = outbox
        self.client = client
        self.secret_for = secret_for
        self.schedule = schedule or RetrySchedule()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease if lease is not None else client.policy.total_timeout + 30.0
        self.metrics = metrics
        self.name = name or f"dispatcher-{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._retry_lock = threading.Lock()
        self._retries: list[float] = []  # heap: time.monotonic() of the retries this dispatcher scheduled
        self._slots = threading.Semaphore(concurrency)
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._rng = random.Random()

    def __enter__(self) -> Dispatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"{self.name}-send")
        self.outbox._listen(self._wake)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming and wait (up to ``timeout``) for the sends under way; the rest stays pending."""
        self._stopping.set()
        self._wake.set()
        self.outbox._unlisten(self._wake)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            deadline, held = time.monotonic() + timeout, 0
            while held < self.concurrency:  # holding every slot means that no send is running
                if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    log.warning("%s: a webhook send is still running after %.0f s", self.name, timeout)
                    break
                held += 1
            self._slots_release(held)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            claimed = 0
            free = self._free_slots()
            if free:
                try:
                    claims = self.outbox.claim(self.name, free, self.lease)
                except sa.exc.SQLAlchemyError:
                    log.exception("%s: could not claim webhook deliveries", self.name)
                    claims = []
                for claim in claims:  # stop() waits for this thread before it closes the pool
                    try:
                        assert self._pool is not None
                        self._pool.submit(self._send_and_release, claim)
                        claimed += 1
                    except (AssertionError, RuntimeError):  # the pool closed after a stop() timed out
                        self.outbox.release(claim)
                self._slots_release(free - claimed)
            if free and claimed == free:
                continue  # there may be more due: look again as soon as a slot is free
            self._wake.wait(self._until_next_look())

    def _until_next_look(self) -> float:
        """Seconds to sleep: the poll interval, or less when a retry scheduled here is due sooner."""
        now = time.monotonic()
        with self._retry_lock:
            if self._retries and self._retries[0] <= now:
                while self._retries and self._retries[0] <= now:  # due: the next claim takes them
                    heapq.heappop(self._retries)
                return 0.0
            return min(self.poll_interval, self._retries[0] - now) if self._retries else self.poll_interval

    def _retry_at(self, when: float) -> None:
        with self._retry_lock:
            heapq.heappush(self._retries, when)

    def _free_slots(self) -> int:
        """Take every free slot (the unused ones are given back after claiming)."""
        taken = 0
        while taken < self.concurrency and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _slots_release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _send_and_release(self, claim: Claim) -> None:
        started_at, started = _now(), time.monotonic()
        try:
            self._send(claim, started_at, started)
        except Exception:
            log.exception("%s: delivery %s failed unexpectedly", self.name, claim.id)
            try:  # counted as a failed attempt; if even that fails, the lease expires and it is retried
                error = "an internal error of the server (logged there)"
                self._retry_or_fail(claim, started_at, started, error=error)
            except Exception:
                log.exception("%s: could not record the outcome of delivery %s", self.name, claim.id)
        finally:
            self._slots.release()
            self._wake.set()

    def _send(self, claim: Claim, started_at: datetime, started: float) -> None:
        disabled = self.outbox.disabled_reason(claim.url, claim.key_id)
        if disabled is not None:
            self._finish(claim, started_at, started, Outcome.DISABLED, error=f"not sent: {disabled}")
            return
        secret = self.secret_for(claim.key_id)
        if not secret:
            self._finish(
                claim,
                started_at,
                started,
                Outcome.FAILED,
                error=f"no webhook secret for key {claim.key_id!r}",
            )
            return
        try:
            headers = sign_webhook(claim.body, secret, event_id=claim.event_id, timestamp=int(time.time()))
        except ValueError as exc:
            error = f"the webhook secret of key {claim.key_id!r} is unusable: {exc}"
            self._finish(claim, started_at, started, Outcome.FAILED, error=error)
            return
        headers["Content-Type"] = "application/json"
        try:
            reply = self.client.request(
                "POST", claim.url, content=claim.body, headers=headers, max_response_bytes=MAX_ANSWER_BYTES
            )
        except ApiError as exc:
            reason = str(exc.details.get("reason") or exc.code)
            message = f"{reason}: {exc.message}"[:_ERROR_TEXT]
            if reason == "URL_NOT_ALLOWED":  # the policy will not change its mind: no retry
                self._finish(claim, started_at, started, Outcome.FAILED, error=message)
            else:
                self._retry_or_fail(claim, started_at, started, error=message)
            return
        status = reply.status_code
        if 200 <= status < 300:
            self._finish(claim, started_at, started, Outcome.DELIVERED, status_code=status)
        elif status == 410:
            reason = f"{claim.url} answered 410 Gone"
            self._finish(
                claim, started_at, started, Outcome.DISABLED, status_code=status, error=reason, disable=reason
            )
        else:
            self._retry_or_fail(
                claim,
                started_at,
                started,
                status_code=status,
                error=f"HTTP {status}",
                retry_after=_retry_after(reply.headers),
            )

    def _retry_or_fail(
        self,
        claim: Claim,
        started_at: datetime,
        started: float,
        *,
        error: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        wait = self.schedule.delay(claim.attempt, retry_after, self._rng)
        if wait is None:
            error = f"{error} (gave up after {claim.attempt} attempts)"
            self._finish(claim, started_at, started, Outcome.FAILED, status_code=status_code, error=error)
        else:
            self._finish(
                claim, started_at, started, Outcome.RETRY, status_code=status_code, error=error, retry_in=wait
            )

    def _finish(
        self,
        claim: Claim,
        started_at: datetime,
        started: float,
        outcome: Outcome,
        *,
        status_code: int | None = None,
        error: str | None = None,
        retry_in: float | None = None,
        disable: str | None = None,
    ) -> None:
        attempt = Attempt(
            number=claim.attempt,
            started_at=started_at,
            duration=time.monotonic() - started,
            outcome=outcome,
            status_code=status_code,
            error=error,
        )
        if not self.outbox.finish(claim, attempt, retry_in=retry_in, disable_reason=disable):
            log.warning("%s: the lease of delivery %s expired before its attempt ended", self.name, claim.id)
        elif retry_in is not None:
            self._retry_at(time.monotonic() + retry_in)
        if self.metrics is not None:
            self.metrics.observe(claim, attempt)
