"""Gotenberg's webhook headers, and the delivery of a result (or of the error) to them through
conversio's outbox: signed, retried on the outbox's schedule, under the outbound policy, recorded
with the job the request became (``GET /v1/jobs/{id}/webhooks``).

The success URL receives the file itself with ``Content-Type``, ``Content-Disposition`` and
``Gotenberg-Trace``; the error URL receives ``{"status", "message"}`` as JSON; the events URL
(newer Gotenberg's) ``webhook.success`` or ``webhook.error``. The client's extra headers go with
each, under those."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
from starlette.datastructures import Headers

from conversio.errors import InvalidRequest
from conversio.outbound import resolve_checked
from conversio_server.errors import ApiError
from conversio_server.gotenberg.answers import TRACE, GotenbergError, Payload
from conversio_server.outbound import OutboundPolicy, check_url
from conversio_server.outbox import Outbox, Upload
from conversio_server.routes.common import content_disposition
from conversio_server.webhooks import timestamp_text

URL = "Gotenberg-Webhook-Url"
ERROR_URL = "Gotenberg-Webhook-Error-Url"
EVENTS_URL = "Gotenberg-Webhook-Events-Url"
METHOD = "Gotenberg-Webhook-Method"
ERROR_METHOD = "Gotenberg-Webhook-Error-Method"
EXTRA_HEADERS = "Gotenberg-Webhook-Extra-Http-Headers"
METHODS = ("POST", "PATCH", "PUT")
#: Headers the client's extra headers may not replace: the delivery's own, and the transport's.
_OURS = frozenset(
    {"content-type", "content-disposition", "content-length", "host", "transfer-encoding", "connection"}
    | {TRACE.lower(), "webhook-id", "webhook-timestamp", "webhook-signature"}
)


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Webhook:
    """Where a request's result goes, and how: the result to ``url``; an error to ``error_url``, and
    an event of either to ``events_url`` (newer Gotenberg's), when given."""

    url: str
    error_url: str | None = None
    events_url: str | None = None
    method: str = "POST"
    error_method: str = "POST"
    extra_headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)

    def succeeded(self, result: Payload, trace: str, job_id: str) -> list[tuple[str, Upload]]:
        """The deliveries of a result: the file itself, and the success event."""
        headers = {
            "Content-Type": result.media_type,
            "Content-Disposition": content_disposition(result.filename),
            TRACE: trace,
        }
        sent = [(self.url, self._upload("gotenberg.result", result.content, self.method, headers, job_id))]
        return sent + self._event("webhook.success", {}, trace, job_id)

    def failed(self, failure: GotenbergError, trace: str, job_id: str) -> list[tuple[str, Upload]]:
        """The deliveries of an error: its JSON to the error URL, and the error event."""
        sent = []
        if self.error_url is not None:
            upload = self._upload(
                "gotenberg.error", _json(failure.body()), self.error_method, _json_headers(trace), job_id
            )
            sent.append((self.error_url, upload))
        return sent + self._event("webhook.error", {"error": failure.body()}, trace, job_id)

    def _event(
        self, name: str, extra: Mapping[str, Any], trace: str, job_id: str
    ) -> list[tuple[str, Upload]]:
        if self.events_url is None:
            return []
        body = {"event": name, "correlationId": trace, "timestamp": timestamp_text(), **extra}
        return [
            (
                self.events_url,
                self._upload("gotenberg.event", _json(body), "POST", _json_headers(trace), job_id),
            )
        ]

    def _upload(
        self, kind: str, content: bytes, method: str, headers: Mapping[str, str], job_id: str
    ) -> Upload:
        extra = {k: v for k, v in self.extra_headers.items() if k.lower() not in _OURS}
        return Upload(kind=kind, content=content, method=method, headers={**extra, **headers}, job_id=job_id)


def send(outbox: Outbox, deliveries: list[tuple[str, Upload]], key_id: str) -> None:
    """Hand each upload to the outbox, for its URL."""
    for url, upload in deliveries:
        outbox.enqueue_upload(upload, url, key_id=key_id)


def _json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def _json_headers(trace: str) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=UTF-8", TRACE: trace}


def read(headers: Headers, policy: OutboundPolicy) -> Webhook | None:
    """The request's webhook, or ``None`` when it has no ``Gotenberg-Webhook-Url``. Bad headers are
    Gotenberg's 400; a URL whose host the outbound policy refuses is its 403. Blocking: resolves
    the URLs' hosts."""
    url = headers.get(URL, "").strip()
    if not url:
        return None
    error_url = headers.get(ERROR_URL, "").strip() or None
    events_url = headers.get(EVENTS_URL, "").strip() or None
    if error_url is None and events_url is None:
        raise GotenbergError(
            400, f"Invalid headers: '{ERROR_URL}' or '{EVENTS_URL}' is required with '{URL}'"
        )
    for name, value in ((URL, url), (ERROR_URL, error_url), (EVENTS_URL, events_url)):
        if value is not None:
            _check(name, value, policy)
    return Webhook(
        url,
        error_url,
        events_url,
        _method(headers, METHOD),
        _method(headers, ERROR_METHOD),
        _extra_headers(headers.get(EXTRA_HEADERS, "")),
    )


def _check(name: str, url: str, policy: OutboundPolicy) -> None:
    try:
        parsed = check_url(url, policy)
    except ApiError as exc:
        raise GotenbergError(400, f"Invalid '{name}' header: {exc.message}") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        resolve_checked(parsed.host, port, policy.allow)
    except InvalidRequest as exc:
        if exc.details.get("reason") == "URL_NOT_ALLOWED":
            raise GotenbergError(403, "Forbidden") from None
        raise GotenbergError(400, f"Invalid '{name}' header: {exc.message}") from None


def _method(headers: Headers, name: str) -> str:
    value = headers.get(name, "").strip().upper() or "POST"
    if value not in METHODS:
        raise GotenbergError(
            400, f"Invalid '{name}' header value: expected POST, PATCH or PUT, got '{value}'"
        )
    return value


def _extra_headers(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise GotenbergError(
            400, f"Invalid '{EXTRA_HEADERS}' header value: expected a JSON object of strings"
        )
    return data
