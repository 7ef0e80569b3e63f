"""A Gotenberg webhook kept with the job its request became, so that whoever ends the job sends the
result or the error: the API node that answered 204, or a worker that ran the job again after that
node died (:mod:`conversio_server.deliveries`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from conversio_server.gotenberg.answers import job_error, payload
from conversio_server.gotenberg.webhook import Webhook
from conversio_server.outbox import Upload

if TYPE_CHECKING:
    from conversio.api import Conversio, Result

KIND = "gotenberg"


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(name) for name in names)


@attrs.frozen
class JobWebhook:
    """The webhook, the request's trace, the output file name it asked for and its inputs' names."""

    hook: Webhook
    trace: str
    wanted: str = ""
    sources: tuple[str, ...] = attrs.field(default=(), converter=_names)

    def to_spec(self) -> dict[str, Any]:
        """As a job spec's ``delivery`` (JSON)."""
        hook = self.hook
        return {
            "kind": KIND,
            "webhook": {
                "url": hook.url,
                "errorUrl": hook.error_url,
                "eventsUrl": hook.events_url,
                "method": hook.method,
                "errorMethod": hook.error_method,
                "extraHeaders": dict(hook.extra_headers),
            },
            "trace": self.trace,
            "filename": self.wanted,
            "sources": list(self.sources),
        }

    @classmethod
    def from_spec(cls, delivery: Mapping[str, Any]) -> JobWebhook:
        hook = delivery["webhook"]
        return cls(
            Webhook(
                hook["url"],
                hook.get("errorUrl"),
                hook.get("eventsUrl"),
                hook.get("method") or "POST",
                hook.get("errorMethod") or "POST",
                hook.get("extraHeaders") or {},
            ),
            str(delivery.get("trace", "")),
            str(delivery.get("filename", "")),
            delivery.get("sources") or (),
        )

    def bound(self, conversio: Conversio, job_id: str) -> BoundWebhook:
        """The deliveries of the job ``job_id``, its results read from ``conversio``'s store."""
        return BoundWebhook(self, conversio, job_id)


@attrs.frozen
class BoundWebhook:
    """A job's Gotenberg webhook deliveries (:class:`conversio_server.deliveries.Deliveries`)."""

    webhook: JobWebhook
    conversio: Conversio
    job_id: str

    def succeeded(self, result: Result) -> Sequence[tuple[str, Upload]]:
        hook = self.webhook
        answer = payload(self.conversio, hook.wanted, hook.sources, result)
        return hook.hook.succeeded(answer, hook.trace, self.job_id)

    def failed(self, error: Mapping[str, Any]) -> Sequence[tuple[str, Upload]]:
        hook = self.webhook
        return hook.hook.failed(job_error(error), hook.trace, self.job_id)
