"""What the outbox reports and hands around: delivery states, attempt outcomes, and the
value objects for a delivery, one attempt of it, and a delivery a dispatcher has claimed."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from conversio_server.webhooks import timestamp_text


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


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else timestamp_text(moment)


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
            "startedAt": timestamp_text(self.started_at),
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
            "createdAt": timestamp_text(self.created_at),
            "updatedAt": timestamp_text(self.updated_at),
            "finishedAt": _text(self.finished_at),
            "attemptLog": [attempt.to_dict() for attempt in self.attempt_log],
        }


def _frozen_headers(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen(kw_only=True)
class Upload:
    """A body sent as it is rather than a JSON event: a result delivered to a Gotenberg client's
    webhook. ``kind`` is its event type (``gotenberg.result``, ``gotenberg.error``); ``headers`` go
    with it (its ``Content-Type`` among them) under the signature's."""

    kind: str
    content: bytes
    method: str = "POST"
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_headers)
    job_id: str | None = None


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
    method: str = "POST"
    #: Headers of an :class:`Upload` (none for a JSON event).
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_headers)
