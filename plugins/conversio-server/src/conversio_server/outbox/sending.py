"""One delivery attempt: sign the stored body, POST it through the outbound guard, and say what the
answer means (:class:`Verdict`); also the outbound policy webhooks are sent with."""

from __future__ import annotations

import time
from typing import Any

import attrs

from conversio.webhooks import Secrets, sign_webhook
from conversio_server.errors import ApiError
from conversio_server.outbound import OutboundClient, OutboundPolicy
from conversio_server.outbox.records import Claim, Outcome

#: Bytes of a receiver's answer that are read (and thrown away).
MAX_ANSWER_BYTES = 4096
_ERROR_TEXT = 500  # characters of an error message kept per attempt


def webhook_policy(base: OutboundPolicy) -> OutboundPolicy:
    """``base`` (the server's outbound policy: its allow list, ports, schemes) with the short timeouts
    a webhook gets: 10 s to connect, 30 s for the whole request."""
    return attrs.evolve(
        base,
        connect_timeout=min(base.connect_timeout, 10.0),
        read_timeout=min(base.read_timeout, 30.0),
        total_timeout=min(base.total_timeout, 30.0),
    )


@attrs.frozen(kw_only=True)
class Verdict:
    """What one attempt came to, before the retry schedule has its say.

    ``Outcome.RETRY`` means "failed, worth another attempt": the dispatcher turns it into
    ``FAILED`` when the schedule has no attempt left. ``disable`` is the reason to disable the
    endpoint (it answered ``410 Gone``).
    """

    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    disable: str | None = None


def _retry_after(headers: Any) -> float | None:
    value = str(headers.get("retry-after") or headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    return None


def post(claim: Claim, client: OutboundClient, secret: Secrets | None) -> Verdict:
    """Sign ``claim``'s body with ``secret`` (its key's, now) and send it to its URL with ``client``
    (a JSON event is POSTed; an upload goes with its own method and headers)."""
    if not secret:
        return Verdict(outcome=Outcome.FAILED, error=f"no webhook secret for key {claim.key_id!r}")
    try:
        headers = sign_webhook(claim.body, secret, event_id=claim.event_id, timestamp=int(time.time()))
    except ValueError as exc:
        error = f"the webhook secret of key {claim.key_id!r} is unusable: {exc}"
        return Verdict(outcome=Outcome.FAILED, error=error)
    headers = {**claim.headers, **headers}  # an upload's own headers, under the signature's
    headers.setdefault("Content-Type", "application/json")
    try:
        reply = client.request(
            claim.method, claim.url, content=claim.body, headers=headers, max_response_bytes=MAX_ANSWER_BYTES
        )
    except ApiError as exc:
        reason = str(exc.details.get("reason") or exc.code)
        message = f"{reason}: {exc.message}"[:_ERROR_TEXT]
        if reason == "URL_NOT_ALLOWED":  # the policy will not change its mind: no retry
            return Verdict(outcome=Outcome.FAILED, error=message)
        return Verdict(outcome=Outcome.RETRY, error=message)
    status = reply.status_code
    if 200 <= status < 300:
        return Verdict(outcome=Outcome.DELIVERED, status_code=status)
    if status == 410:
        reason = f"{claim.url} answered 410 Gone"
        return Verdict(outcome=Outcome.DISABLED, status_code=status, error=reason, disable=reason)
    return Verdict(
        outcome=Outcome.RETRY,
        status_code=status,
        error=f"HTTP {status}",
        retry_after=_retry_after(reply.headers),
    )
