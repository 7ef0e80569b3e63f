"""Signing and verifying webhooks: the Standard Webhooks headers and the guide's ``X-Webhook-Signature``.

Every webhook conversio sends carries two signatures over the exact bytes of its body:

``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` (`Standard Webhooks`_)
    ``webhook-signature`` is ``v1,<base64 HMAC-SHA256>`` over ``"<id>.<timestamp>.<body>"``; during
    a key rotation it holds several space-separated entries, one per secret. The id stays the same
    across retries (deduplicate on it); the timestamp is that of the attempt, so a receiver can
    refuse replays of old requests.
``X-Webhook-Signature`` (the API guide's form)
    The lowercase hex HMAC-SHA256 of the raw body, with no prefix. It covers neither the id nor a
    timestamp, so it cannot tell a replayed request from a fresh one; prefer the headers above.

Secrets. A secret is shown to users as ``whsec_<base64>`` (:func:`new_webhook_secret` makes one
from 32 random bytes). The key bytes are:

* for the Standard Webhooks signature, as that specification says: the base64 text after
  ``whsec_`` decoded (a string without the prefix is used as its own UTF-8 bytes, a ``bytes``
  secret as it is);
* for ``X-Webhook-Signature``, as the guide's receiver (``createHmac("sha256", secret)``) does:
  the secret string exactly as given, prefix and all, as UTF-8 (a ``bytes`` secret as it is).

So a receiver that pastes its ``whsec_…`` secret into a Standard Webhooks library, into the
guide's sample code or into :func:`verify_webhook` gets a match in every case.

Receivers verify with :func:`verify_webhook`, which raises :class:`WebhookVerificationError`
(code ``WEBHOOK_VERIFICATION_FAILED``, ``details["reason"]`` one of :data:`REASONS`).

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from conversio.errors import ConversioError

WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
X_WEBHOOK_SIGNATURE = "X-Webhook-Signature"
SECRET_PREFIX = "whsec_"
#: Seconds a ``webhook-timestamp`` may be away from the receiver's clock, either way.
DEFAULT_TOLERANCE = 300
#: At most this many entries of a ``webhook-signature`` header are looked at.
MAX_SIGNATURES = 16

#: Why a verification failed: ``details["reason"]`` of :class:`WebhookVerificationError`.
REASONS = (
    "missing_header",  # neither signature style is complete (details["header"] names the missing one)
    "invalid_timestamp",  # webhook-timestamp is not a whole number of seconds
    "timestamp_too_old",  # older than the tolerance: possibly a replay
    "timestamp_too_new",  # further in the future than the tolerance
    "no_matching_signature",  # no signature matches any of the secrets
    "invalid_secret",  # the receiver's own secret is unusable (empty, or bad base64 after whsec_)
    "invalid_payload",  # the signature matches, but the body is not JSON
)


class HeaderItems(Protocol):
    """Headers as a dict, Starlette's, httpx's or ``email.message.Message`` (http.server) hold them."""

    def items(self) -> Iterable[tuple[str, Any]]: ...


#: Received headers: anything with ``items()``, or ``(name, value)`` pairs.
Headers = HeaderItems | Iterable[tuple[str, str]]

Secret = str | bytes
#: One secret, or several (newest first) while a secret is being rotated.
Secrets = Secret | Sequence[Secret]

_ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-:]{1,256}$")
_TIMESTAMP_PATTERN = re.compile(r"^[0-9]{1,12}$")


class WebhookVerificationError(ConversioError):
    """A webhook did not verify: answer it with 401 and do not act on it."""

    code = "WEBHOOK_VERIFICATION_FAILED"

    def __init__(self, message: str, *, reason: str, **details: Any) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_verification_error, (self.message, dict(self.details)))


def _rebuild_verification_error(message: str, details: dict[str, Any]) -> WebhookVerificationError:
    reason = str(details.pop("reason", "no_matching_signature"))
    return WebhookVerificationError(message, reason=reason, **details)


def new_webhook_secret(nbytes: int = 32) -> str:
    """A new random secret in the ``whsec_<base64>`` form (Standard Webhooks asks for 24 to 64 bytes)."""
    if not 24 <= nbytes <= 64:
        raise ValueError(f"a webhook secret has 24 to 64 random bytes, not {nbytes}")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def secret_key(secret: Secret) -> bytes:
    """The HMAC key of ``secret`` for the Standard Webhooks signature (see the module's docstring).

    Raises ``ValueError`` for an empty secret or bad base64 after ``whsec_``.
    """
    if isinstance(secret, bytes):
        key = secret
    elif secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :].strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the text after 'whsec_' is not valid base64") from None
    else:
        key = secret.encode("utf-8")
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _legacy_key(secret: Secret) -> bytes:
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    if not key:
        raise ValueError("a webhook secret may not be empty")
    return key


def _as_list(secret: Secrets) -> list[Secret]:
    if isinstance(secret, str | bytes):
        return [secret]
    listed = list(secret)
    if not listed:
        raise ValueError("at least one webhook secret is needed")
    return listed


def _standard_signature(key: bytes, event_id: str, timestamp: str, body: bytes) -> str:
    signed = event_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def _legacy_signature(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def sign_webhook(
    body: bytes, secret: Secrets, *, event_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The signature headers for sending ``body``: ``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature`` (one ``v1,`` entry per secret) and ``X-Webhook-Signature`` (with the first
    secret, the current one).

    ``event_id`` (letters, digits, ``_``, ``-``, ``:``; no dot) must stay the same when the same event
    is sent again; ``timestamp`` is the attempt's time in Unix seconds (default: now).
    Raises ``ValueError`` for an unusable id, timestamp or secret.
    """
    if not _ID_PATTERN.match(event_id):
        raise ValueError(f"a webhook id is 1 to 256 letters, digits, '_', '-' or ':', not {event_id!r}")
    stamp = int(time.time()) if timestamp is None else timestamp
    if isinstance(stamp, bool) or not isinstance(stamp, int) or stamp < 0:
        raise ValueError(f"a webhook timestamp is a non-negative whole number of seconds, not {stamp!r}")
    given = _as_list(secret)
    text = str(stamp)
    signatures = " ".join("v1," + _standard_signature(secret_key(s), event_id, text, body) for s in given)
    return {
        WEBHOOK_ID: event_id,
        WEBHOOK_TIMESTAMP: text,
        WEBHOOK_SIGNATURE: signatures,
        X_WEBHOOK_SIGNATURE: _legacy_signature(_legacy_key(given[0]), body),
    }


def _lowered(headers: Headers) -> dict[str, str]:
    """Header names in lower case; the first of repeated headers wins.

    Anything with ``items()`` (a dict, Starlette's, httpx's or the standard library's
    ``email.message.Message`` headers) or an iterable of ``(name, value)`` pairs.
    """
    items: Iterable[tuple[str, Any]] = headers.items() if hasattr(headers, "items") else headers
    found: dict[str, str] = {}
    for name, value in items:
        found.setdefault(str(name).lower(), str(value))
    return found


def _fail(reason: str, message: str, **details: Any) -> WebhookVerificationError:
    return WebhookVerificationError(f"webhook not verified: {message}", reason=reason, **details)


def _keys(secret: Secrets, make: Callable[[Secret], bytes]) -> list[bytes]:
    try:
        return [make(s) for s in _as_list(secret)]
    except ValueError as exc:
        raise _fail("invalid_secret", f"the receiver's secret is unusable ({exc})") from None


def _check_timestamp(text: str, tolerance: float, now: float | None) -> None:
    if not _TIMESTAMP_PATTERN.match(text.strip()):
        raise _fail("invalid_timestamp", f"{WEBHOOK_TIMESTAMP} {text[:40]!r} is not Unix seconds")
    stamp = int(text.strip())
    current = time.time() if now is None else now
    if stamp < current - tolerance:
        raise _fail(
            "timestamp_too_old",
            f"the request was signed {current - stamp:.0f} s ago, more than the {tolerance:g} s allowed",
            timestamp=stamp,
        )
    if stamp > current + tolerance:
        raise _fail(
            "timestamp_too_new",
            f"the request is dated {stamp - current:.0f} s ahead, more than the {tolerance:g} s allowed",
            timestamp=stamp,
        )


def _matches(expected: str, offered: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), offered.encode("utf-8", "surrogateescape"))


def verify_webhook(
    body: bytes | str,
    headers: Headers,
    secret: Secrets,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
    legacy: bool = True,
) -> Any:
    """Check a received webhook and return its JSON payload; raise :class:`WebhookVerificationError` if not.

    ``body`` must be the raw request body, byte for byte (not JSON parsed and dumped again);
    ``headers`` any mapping or object with ``items()`` (names matched without regard to case)
    or a list of pairs;
    ``secret`` the endpoint's ``whsec_…`` secret, or several during a rotation.

    When the Standard Webhooks headers are present they decide: every ``v1`` entry of
    ``webhook-signature`` is compared (in constant time) with the signature under each secret,
    and ``webhook-timestamp`` must be within ``tolerance`` seconds of ``now`` (default: the
    clock). Otherwise ``X-Webhook-Signature`` is checked, unless ``legacy`` is false; it carries
    no timestamp, so a replayed request passes that check.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    found = _lowered(headers)
    if legacy and not any(name in found for name in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE)):
        _verify_legacy(raw, found, secret)
    else:
        _verify_standard(raw, found, secret, tolerance, now)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise _fail("invalid_payload", "the signature matches but the body is not JSON") from None


def _verify_standard(
    body: bytes, found: dict[str, str], secret: Secrets, tolerance: float, now: float | None
) -> None:
    values: dict[str, str] = {}
    for name in (WEBHOOK_ID, WEBHOOK_TIMESTAMP, WEBHOOK_SIGNATURE):
        value = found.get(name, "").strip()
        if not value:
            raise _fail("missing_header", f"the {name} header is missing", header=name)
        values[name] = value
    _check_timestamp(values[WEBHOOK_TIMESTAMP], tolerance, now)
    expected = [
        _standard_signature(key, values[WEBHOOK_ID], values[WEBHOOK_TIMESTAMP], body)
        for key in _keys(secret, secret_key)
    ]
    matched = False
    for entry in values[WEBHOOK_SIGNATURE].split()[:MAX_SIGNATURES]:
        version, _, offered = entry.partition(",")
        if version != "v1" or not offered:
            continue  # another scheme (v1a: asymmetric signatures) or garbage
        for candidate in expected:
            matched |= _matches(candidate, offered)
    if not matched:
        raise _fail("no_matching_signature", f"no {WEBHOOK_SIGNATURE} entry matches the secret")


def _verify_legacy(body: bytes, found: dict[str, str], secret: Secrets) -> None:
    offered = found.get(X_WEBHOOK_SIGNATURE.lower(), "").strip()
    if not offered:
        raise _fail(
            "missing_header",
            f"neither the {WEBHOOK_SIGNATURE} nor the {X_WEBHOOK_SIGNATURE} header is present",
            header=WEBHOOK_SIGNATURE,
        )
    offered = offered.removeprefix("sha256=").lower()
    matched = False
    for key in _keys(secret, _legacy_key):
        matched |= _matches(_legacy_signature(key, body), offered)
    if not matched:
        raise _fail("no_matching_signature", f"{X_WEBHOOK_SIGNATURE} does not match the secret")
