"""What a job sends when it ends, whoever ends it.

A request that became a job may ask for its result, or its error, to be sent somewhere: Gotenberg's
webhook headers do. The job's spec records it (``spec["delivery"]``), so the API node that took the
request and a worker that runs the job again after that node died send the same files, enqueued in
the transaction that ends the job (:meth:`~conversio_server.jobstore.JobStore.finish`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from conversio.api import Conversio, Result
    from conversio_server.outbox import Upload

log = logging.getLogger("conversio_server.deliveries")

#: The error a cancelled job's deliveries report.
CANCELLED: Mapping[str, Any] = {"code": "CANCELLED", "message": "the job was cancelled", "details": {}}


class Deliveries(Protocol):
    """The files to send, as ``(url, upload)``, when a job ends."""

    def succeeded(self, result: Result) -> Sequence[tuple[str, Upload]]:
        """For a completed job (blocking: may read its results)."""
        ...

    def failed(self, error: Mapping[str, Any]) -> Sequence[tuple[str, Upload]]:
        """For a failed or cancelled job, with its error (``code``, ``message``, ``details``)."""
        ...


def of_job(spec: Mapping[str, Any], conversio: Conversio, job_id: str) -> Deliveries | None:
    """The deliveries ``spec`` asks for, or ``None``."""
    delivery = spec.get("delivery")
    if not delivery:
        return None
    if delivery.get("kind") == "gotenberg":
        from conversio_server.gotenberg.job_webhook import JobWebhook

        return JobWebhook.from_spec(delivery).bound(conversio, job_id)
    log.error("job %s asks for a delivery of an unknown kind %r; none is sent", job_id, delivery.get("kind"))
    return None
