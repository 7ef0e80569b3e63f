"""Gotenberg's webhook headers, and the delivery of a result (or of the error) to them through
conversio's outbox: signed, retried on the outbox's schedule, under the outbound policy, recorded
with the job the request became (``GET /v1/jobs/{id}/webhooks``).

The success URL receives the file itself with ``Content-Type``, ``Content-Disposition`` and
``Gotenberg-Trace``; the error URL receives ``{"status", "message"}`` as JSON. The client's extra
headers go with both, under those."""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

import attrs
from starlette.datastructures import Headers

from conversio.errors import InvalidRequest
from conversio.outbound import resolve_checked
from conversio_server.errors import ApiError
from conversio_server.gotenberg.answers import TRACE, GotenbergError
from conversio_server.outbound import OutboundPolicy, check_url
from conversio_server.outbox import Outbox, Upload
from conversio_server.routes.common import content_disposition

URL = "Gotenberg-Webhook-Url"
ERROR_URL = "Gotenberg-Webhook-Error-Url"
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
    """Where a request's result goes, and how."""

    url: str
    error_url: str
    method: str = "POST"
    error_method: str = "POST"
    extra_headers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen)

    def result(self, content: bytes, filename: str, media_type: str, trace: str, job_id: str) -> Upload:
        """The upload of the result ``content``."""
        headers = {
            "Content-Type": media_type,
            "Content-Disposition": content_disposition(filename),
            TRACE: trace,
        }
        return self._upload("gotenberg.result", content, self.method, headers, job_id)

    def error(self, failure: GotenbergError, trace: str, job_id: str) -> Upload:
        """The upload of the error's JSON."""
        content = json.dumps(failure.body(), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8", TRACE: trace}
        return self._upload("gotenberg.error", content, self.error_method, headers, job_id)

    def _upload(
        self, kind: str, content: bytes, method: str, headers: Mapping[str, str], job_id: str
    ) -> Upload:
        extra = {k: v for k, v in self.extra_headers.items() if k.lower() not in _OURS}
        return Upload(kind=kind, content=content, method=method, headers={**extra, **headers}, job_id=job_id)

    def send(self, outbox: Outbox, upload: Upload, key_id: str) -> None:
        """Hand ``upload`` to the outbox, to its URL (the error URL for an error)."""
        url = self.error_url if upload.kind == "gotenberg.error" else self.url
        outbox.enqueue_upload(upload, url, key_id=key_id)


def read(headers: Headers, policy: OutboundPolicy) -> Webhook | None:
    """The request's webhook, or ``None`` when it has no ``Gotenberg-Webhook-Url``. Bad headers are
    Gotenberg's 400; a URL whose host the outbound policy refuses is its 403. Blocking: resolves
    the URLs' hosts."""
    url = headers.get(URL, "").strip()
    if not url:
        return None
    error_url = headers.get(ERROR_URL, "").strip()
    if not error_url:
        raise GotenbergError(400, f"Invalid '{ERROR_URL}' header: it is required with '{URL}'")
    for name, value in ((URL, url), (ERROR_URL, error_url)):
        _check(name, value, policy)
    return Webhook(
        url,
        error_url,
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
