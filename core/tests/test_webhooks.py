"""Webhook signatures: known answers, both header styles, rotation, tampering, replays."""

from __future__ import annotations

import base64
import email.message
import hashlib
import hmac
import pickle
import time
from collections.abc import Callable

import pytest

from conversio.errors import ConversioError
from conversio.webhooks import (
    SECRET_PREFIX,
    WebhookVerificationError,
    new_webhook_secret,
    secret_key,
    sign_webhook,
    verify_webhook,
)

# The reference vector published with the Standard Webhooks libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# The same body under the guide's scheme, from `openssl dgst -sha256 -hmac "$SPEC_SECRET" -hex`.
SPEC_GUIDE_SIGNATURE = "80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c"

BODY = b'{"event":"job.completed","jobId":"job_1","status":"completed"}'
NOW = 1_800_000_000

Tamper = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


def reason(exc: pytest.ExceptionInfo[WebhookVerificationError]) -> str:
    return str(exc.value.details["reason"])


def test_the_published_standard_webhooks_vector() -> None:
    headers = sign_webhook(SPEC_BODY, SPEC_SECRET, event_id=SPEC_ID, timestamp=SPEC_TIMESTAMP)
    assert headers["webhook-signature"] == SPEC_SIGNATURE
    assert headers["X-Webhook-Signature"] == SPEC_GUIDE_SIGNATURE
    assert headers["webhook-id"] == SPEC_ID and headers["webhook-timestamp"] == "1614265330"
    assert verify_webhook(SPEC_BODY, headers, SPEC_SECRET, now=SPEC_TIMESTAMP + 10) == {"test": 2432232314}


def test_known_answers_computed_independently() -> None:
    raw_key = bytes(range(32))
    secret = SECRET_PREFIX + base64.b64encode(raw_key).decode()
    headers = sign_webhook(BODY, secret, event_id="evt_abc", timestamp=NOW)
    standard = hmac.new(raw_key, b"evt_abc.1800000000." + BODY, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(standard).decode()
    # The guide's form: hex HMAC of the raw body under the secret string as given (prefix and all).
    guide = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert headers["X-Webhook-Signature"] == guide
    assert len(guide) == 64 and guide == guide.lower()


def test_secret_forms() -> None:
    assert secret_key(SECRET_PREFIX + base64.b64encode(b"k" * 24).decode()) == b"k" * 24
    assert secret_key("plain-text-secret") == b"plain-text-secret"
    assert secret_key(b"\x00\x01raw") == b"\x00\x01raw"
    made = new_webhook_secret()
    assert made.startswith(SECRET_PREFIX) and len(secret_key(made)) == 32
    assert new_webhook_secret() != made
    for bad in ("", "whsec_", "whsec_not base64!"):
        with pytest.raises(ValueError):
            secret_key(bad)
    with pytest.raises(ValueError):
        new_webhook_secret(8)


@pytest.mark.parametrize("bad_id", ["", "has.dot", "new\nline", "spa ce", "x" * 257])
def test_unusable_event_ids_are_refused_when_signing(bad_id: str) -> None:
    with pytest.raises(ValueError):
        sign_webhook(BODY, "s" * 32, event_id=bad_id, timestamp=NOW)


def test_both_header_styles_verify_alone() -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW)
    standard = {k: v for k, v in headers.items() if k.startswith("webhook-")}
    legacy = {"x-webhook-signature": headers["X-Webhook-Signature"]}
    assert verify_webhook(BODY, standard, secret, now=NOW)["jobId"] == "job_1"
    assert verify_webhook(BODY, legacy, secret, now=NOW)["jobId"] == "job_1"
    # Header names are matched without regard to case, and pairs work as well as mappings.
    shouted = [(k.upper(), v) for k, v in headers.items()]
    assert verify_webhook(BODY.decode(), shouted, secret, now=NOW)["status"] == "completed"
    # The standard library's header object (http.server's self.headers) works too.
    message = email.message.Message()
    for name, value in headers.items():
        message[name] = value
    assert verify_webhook(BODY, message, secret, now=NOW)["jobId"] == "job_1"
    # A "sha256=" prefix on the guide's header is tolerated.
    prefixed = {"X-Webhook-Signature": "sha256=" + headers["X-Webhook-Signature"]}
    assert verify_webhook(BODY, prefixed, secret)["event"] == "job.completed"


def test_legacy_can_be_refused() -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW)
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, {"X-Webhook-Signature": headers["X-Webhook-Signature"]}, secret, legacy=False)
    assert reason(exc) == "missing_header" and exc.value.details["header"] == "webhook-id"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, h: (body + b" ", h),
        lambda body, h: (body.replace(b"job_1", b"job_2"), h),
        lambda body, h: (body, {**h, "webhook-id": "evt_other"}),
        lambda body, h: (body, {**h, "webhook-timestamp": str(NOW + 1)}),
        lambda body, h: (body, {**h, "webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}),
        lambda body, h: (body, {**h, "webhook-signature": "v1a,abc v2,def"}),
        lambda body, h: (body, {**h, "webhook-signature": h["webhook-signature"].replace("v1,", "v1,A")}),
    ],
)
def test_tampering_is_detected(tamper: Tamper) -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW)
    body, headers = tamper(BODY, headers)
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(body, headers, secret, now=NOW)
    assert reason(exc) == "no_matching_signature"
    assert exc.value.code == "WEBHOOK_VERIFICATION_FAILED"


def test_a_tampered_body_fails_the_legacy_check_too() -> None:
    secret = new_webhook_secret()
    legacy = {
        "X-Webhook-Signature": sign_webhook(BODY, secret, event_id="e", timestamp=NOW)["X-Webhook-Signature"]
    }
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY + b"\n", legacy, secret)
    assert reason(exc) == "no_matching_signature"


def test_a_wrong_secret_fails() -> None:
    headers = sign_webhook(BODY, new_webhook_secret(), event_id="evt_1", timestamp=NOW)
    other = new_webhook_secret()
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, headers, other, now=NOW)
    assert reason(exc) == "no_matching_signature"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, {"X-Webhook-Signature": headers["X-Webhook-Signature"]}, other)


def test_timestamps_outside_the_tolerance_are_replays() -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW)
    assert verify_webhook(BODY, headers, secret, now=NOW + 299)
    assert verify_webhook(BODY, headers, secret, now=NOW - 299)
    with pytest.raises(WebhookVerificationError) as old:
        verify_webhook(BODY, headers, secret, now=NOW + 301)
    assert reason(old) == "timestamp_too_old"
    with pytest.raises(WebhookVerificationError) as new:
        verify_webhook(BODY, headers, secret, now=NOW - 301)
    assert reason(new) == "timestamp_too_new"
    assert verify_webhook(BODY, headers, secret, now=NOW + 3000, tolerance=3600)
    # The default clock: a request signed now verifies, one signed an hour ago does not.
    fresh = sign_webhook(BODY, secret, event_id="evt_2")
    assert abs(int(fresh["webhook-timestamp"]) - time.time()) < 5
    assert verify_webhook(BODY, fresh, secret)
    stale = sign_webhook(BODY, secret, event_id="evt_2", timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, stale, secret)


@pytest.mark.parametrize("stamp", ["", "soon", "1.5", "-5", "1e9", "9" * 20])
def test_malformed_timestamps(stamp: str) -> None:
    secret = new_webhook_secret()
    headers = {**sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW), "webhook-timestamp": stamp}
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, headers, secret, now=NOW)
    assert reason(exc) == ("missing_header" if not stamp else "invalid_timestamp")


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_an_incomplete_standard_header_set_does_not_fall_back(missing: str) -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(BODY, secret, event_id="evt_1", timestamp=NOW)
    del headers[missing]  # X-Webhook-Signature is still there and valid, but a partial set is suspicious
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, headers, secret, now=NOW)
    assert reason(exc) == "missing_header" and exc.value.details["header"] == missing


def test_no_signature_at_all() -> None:
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, {"content-type": "application/json"}, new_webhook_secret())
    assert reason(exc) == "missing_header"


def test_key_rotation_several_signatures_and_several_secrets() -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    headers = sign_webhook(BODY, [new, old], event_id="evt_1", timestamp=NOW)
    entries = headers["webhook-signature"].split(" ")
    assert len(entries) == 2 and all(e.startswith("v1,") for e in entries)
    assert verify_webhook(BODY, headers, new, now=NOW)  # a receiver that already has the new secret
    assert verify_webhook(BODY, headers, old, now=NOW)  # and one that still has the old one
    # The guide's header is signed with the first (current) secret only.
    legacy = {"X-Webhook-Signature": headers["X-Webhook-Signature"]}
    assert verify_webhook(BODY, legacy, new)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, legacy, old)
    # A receiver may hold several secrets while it rotates.
    only_old = sign_webhook(BODY, old, event_id="evt_1", timestamp=NOW)
    assert verify_webhook(BODY, only_old, [new, old], now=NOW)
    # Unknown schemes next to a good entry are skipped.
    mixed = {**only_old, "webhook-signature": "v1a,Zm9v " + only_old["webhook-signature"]}
    assert verify_webhook(BODY, mixed, old, now=NOW)


def test_an_unusable_receiver_secret_is_reported_as_such() -> None:
    headers = sign_webhook(BODY, new_webhook_secret(), event_id="evt_1", timestamp=NOW)
    bads: tuple[str | list[str], ...] = ("", "whsec_***", [])
    for bad in bads:
        with pytest.raises(WebhookVerificationError) as exc:
            verify_webhook(BODY, headers, bad, now=NOW)
        assert reason(exc) == "invalid_secret"


def test_a_signed_body_that_is_not_json() -> None:
    secret = new_webhook_secret()
    headers = sign_webhook(b"not json", secret, event_id="evt_1", timestamp=NOW)
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(b"not json", headers, secret, now=NOW)
    assert reason(exc) == "invalid_payload"


def test_the_error_is_a_conversio_error_and_survives_pickling() -> None:
    with pytest.raises(WebhookVerificationError) as exc:
        verify_webhook(BODY, {}, new_webhook_secret())
    error = exc.value
    assert isinstance(error, ConversioError)
    assert error.to_dict()["code"] == "WEBHOOK_VERIFICATION_FAILED"
    assert str(error).startswith("WEBHOOK_VERIFICATION_FAILED: webhook not verified")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is WebhookVerificationError and copy.reason == "missing_header"
    assert copy.details == error.details
