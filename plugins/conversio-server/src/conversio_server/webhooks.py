"""Webhook events: their types and the JSON bodies the server sends, in the API guide's shape.

A job event reads::

    {"event": "job.completed", "jobId": "job_abc123", "status": "completed",
     "input": {"filename": "deck.pptx", "format": "pptx", "size": 4521984},
     "output": {"url": "https://…/output.pdf", "format": "pdf", "size": 2145792,
                "expiresAt": "2026-02-20T10:30:00Z"},
     "duration": 3.2, "timestamp": "2026-02-19T10:30:03.120Z"}

with ``outputs`` (every output) next to ``output`` (the first) when a job made several,
``progress`` (percent) on ``job.processing`` and ``job.progress``, ``error`` (code, message,
details) on ``job.failed``, ``batchId`` and ``tag`` when the job has them. The status follows
from the event type. ``batch.completed`` carries ``batchId``, ``status`` (``completed``),
``jobCount``, ``counts`` by job status and ``jobs`` (``jobId``, ``status``).

Events are built here and handed to :meth:`conversio_server.outbox.Outbox.enqueue`, which
stores the exact bytes of :meth:`WebhookEvent.body` so that every retry sends the same body.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import attrs

from conversio.errors import InvalidOption


class EventType(str, Enum):
    JOB_QUEUED = "job.queued"
    JOB_PROCESSING = "job.processing"
    JOB_PROGRESS = "job.progress"
    JOB_COMPLETED = "job.completed"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    BATCH_COMPLETED = "batch.completed"


#: The job status each job event reports.
JOB_STATUS: Mapping[EventType, str] = {
    EventType.JOB_QUEUED: "queued",
    EventType.JOB_PROCESSING: "processing",
    EventType.JOB_PROGRESS: "processing",
    EventType.JOB_COMPLETED: "completed",
    EventType.JOB_FAILED: "failed",
    EventType.JOB_CANCELLED: "cancelled",
}


JOB_STATUS_NAMES = tuple(kind.value for kind in JOB_STATUS)


def timestamp_text(moment: datetime | None = None) -> str:
    """``moment`` (default: now) in UTC as ISO 8601 with milliseconds and a ``Z``."""
    value = (moment or datetime.now(UTC)).astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _expiry_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@attrs.frozen(kw_only=True)
class InputInfo:
    """The job's input as the payload names it."""

    filename: str
    format: str | None = None
    size: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"filename": self.filename, "format": self.format, "size": self.size}


@attrs.frozen(kw_only=True)
class OutputInfo:
    """One result: where to download it (a signed URL), its format, size and when the link expires."""

    url: str
    format: str
    size: int
    expires_at: datetime | None = None
    filename: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": self.url,
            "format": self.format,
            "size": self.size,
            "expiresAt": _expiry_text(self.expires_at),
        }
        if self.filename is not None:
            data["filename"] = self.filename
        return data


def _serialise(payload: Mapping[str, Any]) -> bytes:
    """Compact JSON, UTF-8, keys in the order built (what JavaScript's ``JSON.stringify`` also makes)."""
    try:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from an undecodable file name): escape it instead
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode("ascii")


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One event to send: its type, the job or batch it is about, and its JSON payload."""

    type: EventType
    payload: Mapping[str, Any]
    job_id: str | None = None
    batch_id: str | None = None

    def body(self) -> bytes:
        """The exact bytes sent (and signed)."""
        return _serialise(self.payload)


def job_event(
    event: EventType | str,
    *,
    job_id: str,
    input: InputInfo | None = None,
    outputs: Sequence[OutputInfo] = (),
    duration: float | None = None,
    progress: float | None = None,
    error: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
    tag: str | None = None,
    at: datetime | None = None,
) -> WebhookEvent:
    """The ``job.*`` event ``event`` of job ``job_id``.

    ``progress`` is a fraction (0 to 1) and is sent as a whole percent; ``duration`` is in
    seconds; ``error`` is the job's error body (``code``, ``message``, ``details``); ``at``
    the moment of the event (default: now).
    """
    try:
        kind = EventType(event)
    except ValueError:
        kind = None
    if kind is None or kind not in JOB_STATUS:
        known = ", ".join(JOB_STATUS_NAMES)
        raise InvalidOption(f"{event!r} is not a job event; job events are {known}", option="event")
    payload: dict[str, Any] = {"event": kind.value, "jobId": job_id, "status": JOB_STATUS[kind]}
    if batch_id is not None:
        payload["batchId"] = batch_id
    if tag is not None:
        payload["tag"] = tag
    if input is not None:
        payload["input"] = input.to_dict()
    if outputs:
        payload["output"] = outputs[0].to_dict()
        if len(outputs) > 1:
            payload["outputs"] = [output.to_dict() for output in outputs]
    if progress is not None:
        payload["progress"] = round(100 * min(1.0, max(0.0, progress)))
    if error is not None:
        payload["error"] = {
            "code": str(error.get("code", "CONVERSION_FAILED")),
            "message": str(error.get("message", "")),
            "details": dict(error.get("details") or {}),
        }
    if duration is not None:
        payload["duration"] = round(duration, 3)
    payload["timestamp"] = timestamp_text(at)
    return WebhookEvent(type=kind, payload=payload, job_id=job_id, batch_id=batch_id)


def batch_event(
    *,
    batch_id: str,
    jobs: Sequence[tuple[str, str]],
    duration: float | None = None,
    tag: str | None = None,
    at: datetime | None = None,
) -> WebhookEvent:
    """``batch.completed`` for ``batch_id``: every job of the batch has finished.

    ``jobs`` lists ``(job_id, status)`` pairs in the batch's order.
    """
    counts = Counter(status for _, status in jobs)
    payload: dict[str, Any] = {
        "event": EventType.BATCH_COMPLETED.value,
        "batchId": batch_id,
        "status": "completed",
        "jobCount": len(jobs),
        "counts": dict(sorted(counts.items())),
        "jobs": [{"jobId": job_id, "status": status} for job_id, status in jobs],
    }
    if tag is not None:
        payload["tag"] = tag
    if duration is not None:
        payload["duration"] = round(duration, 3)
    payload["timestamp"] = timestamp_text(at)
    return WebhookEvent(type=EventType.BATCH_COMPLETED, payload=payload, batch_id=batch_id)
