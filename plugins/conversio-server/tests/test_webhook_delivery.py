"""Webhooks end to end: events, the outbox, and dispatchers delivering to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from conversio_server.keys import KeyStore
from conversio_server.outbound import OutboundClient, OutboundPolicy
from conversio_server.outbox import (
    DEFAULT_RETRY_DELAYS,
    DeliveryStatus,
    Dispatcher,
    Outbox,
    Outcome,
    RetrySchedule,
    register_webhook_metrics,
    webhook_policy,
)
from conversio_server.outbox.tables import attempts, deliveries
from conversio_server.webhooks import EventType, InputInfo, OutputInfo, batch_event, job_event
from prometheus_client import CollectorRegistry

from conversio.errors import InvalidOption
from conversio.webhooks import WebhookVerificationError, new_webhook_secret, verify_webhook

SECRET = new_webhook_secret()
KEY = "key1"
FAST = RetrySchedule(delays=(0.05, 0.05, 0.05), jitter=False)
LOOPBACK = OutboundPolicy(allow=("127.0.0.1",), connect_timeout=2, read_timeout=5, total_timeout=5)
WAIT = 10.0  # seconds any condition below may take at most


def secret_for(key_id: str | None) -> str | None:
    return SECRET if key_id == KEY else None


# a real receiver


@attrs.frozen
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: Any  # the payload, or the WebhookVerificationError
    arrived: float = attrs.field(factory=time.monotonic)


class Receiver:
    """An HTTP server on 127.0.0.1 that verifies every webhook and answers from a per-path script."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.scripts: dict[str, list[int]] = {}
        self.delay = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length") or 0), 1_000_000)
                body = self.rfile.read(length)
                headers = dict(self.headers.items())
                try:
                    verified: Any = verify_webhook(body, headers, SECRET)
                except WebhookVerificationError as exc:
                    verified = exc
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, verified))
                    script = receiver.scripts.get(self.path)
                    status = script.pop(0) if script else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def db_url(database_url: str) -> str:
    """The outbox's database: each test that stores deliveries runs on SQLite and on PostgreSQL."""
    return database_url


@pytest.fixture
def outbox(db_url: str) -> Iterator[Outbox]:
    with Outbox(db_url) as opened:
        yield opened


@pytest.fixture
def client() -> Iterator[OutboundClient]:
    with OutboundClient(LOOPBACK) as http:
        yield http


def dispatcher(outbox: Outbox, client: OutboundClient, **kwargs: Any) -> Dispatcher:
    values: dict[str, Any] = {"schedule": FAST, "poll_interval": 0.02, "concurrency": 2}
    values.update(kwargs)
    return Dispatcher(outbox, client, secret_for, **values)


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.01)


def finished(outbox: Outbox, job_id: str, count: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        found = outbox.deliveries_for(job_id)
        return len(found) == count and all(d.status is not DeliveryStatus.PENDING for d in found)

    return check


def completed(job_id: str = "job_1") -> Any:
    return job_event(
        EventType.JOB_COMPLETED,
        job_id=job_id,
        input=InputInfo(filename="deck.pptx", format="pptx", size=4521984),
        outputs=[
            OutputInfo(
                url="https://files.example/r/output.pdf",
                format="pdf",
                size=2145792,
                expires_at=datetime(2026, 2, 20, 10, 30, tzinfo=UTC),
            )
        ],
        duration=3.2,
        at=datetime(2026, 2, 19, 10, 30, 3, 120000, tzinfo=UTC),
    )


# events


def test_a_job_event_has_the_guides_shape() -> None:
    event = completed()
    assert json.loads(event.body()) == {
        "event": "job.completed",
        "jobId": "job_1",
        "status": "completed",
        "input": {"filename": "deck.pptx", "format": "pptx", "size": 4521984},
        "output": {
            "url": "https://files.example/r/output.pdf",
            "format": "pdf",
            "size": 2145792,
            "expiresAt": "2026-02-20T10:30:00Z",
        },
        "duration": 3.2,
        "timestamp": "2026-02-19T10:30:03.120Z",
    }
    assert event.body().startswith(b'{"event":"job.completed","jobId":"job_1"')  # compact, in order


def test_other_job_events() -> None:
    progress = json.loads(job_event("job.progress", job_id="j", progress=0.456, batch_id="b", tag="t").body())
    assert progress["status"] == "processing" and progress["progress"] == 46
    assert progress["batchId"] == "b" and progress["tag"] == "t"
    failed = json.loads(
        job_event(EventType.JOB_FAILED, job_id="j", error={"code": "CORRUPT_FILE", "message": "bad"}).body()
    )
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "CORRUPT_FILE", "message": "bad", "details": {}}
    outputs = [OutputInfo(url=f"https://x/{i}", format="png", size=i) for i in range(3)]
    many = json.loads(job_event(EventType.JOB_COMPLETED, job_id="j", outputs=outputs).body())
    assert many["output"]["url"] == "https://x/0" and [o["url"] for o in many["outputs"]] == [
        "https://x/0",
        "https://x/1",
        "https://x/2",
    ]
    job_kinds = [kind for kind in EventType if kind is not EventType.BATCH_COMPLETED]
    statuses = {kind: json.loads(job_event(kind, job_id="j").body())["status"] for kind in job_kinds}
    assert statuses == {
        EventType.JOB_QUEUED: "queued",
        EventType.JOB_PROCESSING: "processing",
        EventType.JOB_PROGRESS: "processing",
        EventType.JOB_COMPLETED: "completed",
        EventType.JOB_FAILED: "failed",
        EventType.JOB_CANCELLED: "cancelled",
    }


def test_batch_completed_and_bad_event_types() -> None:
    event = batch_event(
        batch_id="batch_1", jobs=[("job_1", "completed"), ("job_2", "failed"), ("job_3", "completed")]
    )
    payload = json.loads(event.body())
    assert payload["event"] == "batch.completed" and payload["batchId"] == "batch_1"
    assert payload["jobCount"] == 3 and payload["counts"] == {"completed": 2, "failed": 1}
    assert payload["jobs"][1] == {"jobId": "job_2", "status": "failed"}
    assert event.job_id is None and event.batch_id == "batch_1"
    for bad in ("batch.completed", "job.exploded"):
        with pytest.raises(InvalidOption):
            job_event(bad, job_id="j")


def test_retry_schedule() -> None:
    default = RetrySchedule()
    assert default.delays == DEFAULT_RETRY_DELAYS and default.max_attempts == 9
    assert 20 * 3600 < sum(default.delays) < 24 * 3600  # spans about a day
    waits = [default.delay(1) for _ in range(200)]
    assert all(w is not None and 0 <= w <= 5 for w in waits) and len(set(waits)) > 100  # full jitter
    assert default.delay(9) is None and default.delay(0) is None
    fixed = RetrySchedule(delays=(1, 2), jitter=False)
    assert [fixed.delay(1), fixed.delay(2), fixed.delay(3)] == [1, 2, None]
    assert fixed.delay(1, retry_after=30) == 30 and fixed.delay(1, retry_after=10**9) == 24 * 3600
    parsed = RetrySchedule.parse("5s, 30s, 2m, 10m, 1h, 3h, 6h, 12h")
    assert parsed.delays == DEFAULT_RETRY_DELAYS and parsed.jitter
    assert RetrySchedule(delays="250ms,1").delays == (0.25, 1.0)  # type: ignore[arg-type]
    for bad in ("5 parsecs", "-1s"):
        with pytest.raises(InvalidOption):
            RetrySchedule.parse(bad)
    with pytest.raises(InvalidOption):
        RetrySchedule(delays=(1, float("nan")))
    policy = webhook_policy(OutboundPolicy(allow=("10.0.0.0/8",)))
    assert (
        policy.total_timeout == 30
        and policy.connect_timeout == 10
        and policy.allow == OutboundPolicy(allow=("10.0.0.0/8",)).allow
    )


# delivery


def test_delivered_signed_both_ways_and_recorded(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    registry = CollectorRegistry()
    metrics = register_webhook_metrics(registry, outbox)
    queued = outbox.enqueue(completed(), receiver.url(), key_id=KEY)
    assert queued.status is DeliveryStatus.PENDING and queued.attempts == 0
    assert registry.get_sample_value("conversio_webhook_queue_depth") == 1
    with dispatcher(outbox, client, metrics=metrics):
        wait_until(finished(outbox, "job_1"))
    (got,) = receiver.at("/hook")
    assert got.verified == json.loads(completed().body())
    assert got.body == completed().body()  # the stored bytes, exactly
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["webhook-id"] == queued.event_id and queued.event_id.startswith("evt_")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 30
    # Each header style verifies on its own, as a receiver that knows only one of them would.
    standard = {k: v for k, v in got.headers.items() if k.lower().startswith("webhook-")}
    legacy = {"X-Webhook-Signature": got.headers["X-Webhook-Signature"]}
    assert verify_webhook(got.body, standard, SECRET, legacy=False)["jobId"] == "job_1"
    assert verify_webhook(got.body, legacy, SECRET)["jobId"] == "job_1"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(got.body, standard, new_webhook_secret())

    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.finished_at is not None
    (attempt,) = delivery.attempt_log
    assert attempt.outcome is Outcome.DELIVERED and attempt.status_code == 200 and attempt.number == 1
    shown = delivery.to_dict()
    assert shown["status"] == "delivered" and shown["event"] == "job.completed"
    assert shown["nextAttemptAt"] is None and shown["attemptLog"][0]["statusCode"] == 200
    assert registry.get_sample_value("conversio_webhook_deliveries_total", {"outcome": "delivered"}) == 1
    assert registry.get_sample_value("conversio_webhook_deliveries_total", {"outcome": "retry"}) == 0
    assert registry.get_sample_value("conversio_webhook_delivery_latency_seconds_count") == 1
    assert registry.get_sample_value("conversio_webhook_queue_depth") == 0


def test_retries_keep_the_event_id(outbox: Outbox, client: OutboundClient, receiver: Receiver) -> None:
    receiver.scripts["/flaky"] = [500, 503]
    registry = CollectorRegistry()
    metrics = register_webhook_metrics(registry, outbox)
    queued = outbox.enqueue(completed(), receiver.url("/flaky"), key_id=KEY)
    with dispatcher(outbox, client, metrics=metrics):
        wait_until(finished(outbox, "job_1"))
    got = receiver.at("/flaky")
    assert len(got) == 3
    assert {r.headers["webhook-id"] for r in got} == {queued.event_id}
    assert {r.body for r in got} == {completed().body()}
    assert all(isinstance(r.verified, dict) for r in got)  # every attempt is freshly and validly signed
    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert [(a.number, a.outcome, a.status_code) for a in delivery.attempt_log] == [
        (1, Outcome.RETRY, 500),
        (2, Outcome.RETRY, 503),
        (3, Outcome.DELIVERED, 200),
    ]
    assert delivery.attempt_log[0].error == "HTTP 500"
    assert registry.get_sample_value("conversio_webhook_deliveries_total", {"outcome": "retry"}) == 2
    assert registry.get_sample_value("conversio_webhook_deliveries_total", {"outcome": "delivered"}) == 1


def test_a_retry_goes_out_when_due_not_at_the_next_poll(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    """The dispatcher wakes itself for the retries it schedules: no minute-long poll delays them."""
    receiver.scripts["/once"] = [500]
    outbox.enqueue(completed(), receiver.url("/once"), key_id=KEY)
    schedule = RetrySchedule(delays=(0.3, 0.3), jitter=False)
    with dispatcher(outbox, client, schedule=schedule, poll_interval=60.0):
        wait_until(finished(outbox, "job_1"))
    first, second = (r.arrived for r in receiver.at("/once"))
    assert 0.3 <= second - first < 5.0


def test_it_gives_up_after_the_last_attempt(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    receiver.scripts["/down"] = [500] * 10
    outbox.enqueue(completed(), receiver.url("/down"), key_id=KEY)
    with dispatcher(outbox, client, schedule=RetrySchedule(delays=(0.02,), jitter=False)):
        wait_until(finished(outbox, "job_1"))
    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 2
    assert delivery.last_error == "HTTP 500 (gave up after 2 attempts)"
    assert [a.outcome for a in delivery.attempt_log] == [Outcome.RETRY, Outcome.FAILED]
    assert len(receiver.at("/down")) == 2


def test_retry_after_is_honoured(outbox: Outbox, client: OutboundClient) -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(429)
            self.send_header("Retry-After", "120")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/busy"
        outbox.enqueue(completed(), url, key_id=KEY)
        with dispatcher(outbox, client):
            wait_until(
                lambda: outbox.deliveries_for("job_1")[0].attempts == 1 and outbox.pending_count() == 1
            )
            wait_until(lambda: outbox.deliveries_for("job_1")[0].last_status_code == 429)
        (delivery,) = outbox.deliveries_for("job_1")
        assert delivery.status is DeliveryStatus.PENDING and delivery.next_attempt_at is not None
        assert 100 < (delivery.next_attempt_at - datetime.now(UTC)).total_seconds() <= 120
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_receiver_is_retried(outbox: Outbox, client: OutboundClient) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outbox.enqueue(completed(), f"http://127.0.0.1:{port}/hook", key_id=KEY)
    with dispatcher(outbox, client, schedule=RetrySchedule(delays=(0.02,), jitter=False)):
        wait_until(finished(outbox, "job_1"))
    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 2
    assert all(a.error and a.error.startswith("URL_UNREACHABLE") for a in delivery.attempt_log)


def test_410_disables_the_endpoint(outbox: Outbox, client: OutboundClient, receiver: Receiver) -> None:
    receiver.scripts["/gone"] = [410]
    gone = receiver.url("/gone")
    first = outbox.enqueue(completed("job_1"), gone, key_id=KEY)
    later = outbox.enqueue(completed("job_2"), gone, key_id=KEY, delay=3600)  # still pending then
    elsewhere = outbox.enqueue(completed("job_3"), receiver.url("/other"), key_id=KEY)
    with dispatcher(outbox, client):
        wait_until(finished(outbox, "job_1"))
        wait_until(finished(outbox, "job_3"))
        after = outbox.enqueue(completed("job_4"), gone, key_id=KEY)
        time.sleep(0.1)
    assert outbox.get(first.id).status is DeliveryStatus.DISABLED
    assert outbox.get(first.id).last_status_code == 410
    for other in (later, after):
        delivery = outbox.get(other.id)
        assert delivery.status is DeliveryStatus.DISABLED and delivery.attempts == 0
        assert delivery.last_error is not None and "410" in delivery.last_error
    assert outbox.get(elsewhere.id).status is DeliveryStatus.DELIVERED
    assert len(receiver.at("/gone")) == 1  # nothing more was sent there
    assert outbox.disabled_reason(gone, KEY) is not None
    assert outbox.disabled_reason(gone, "another-key") is None  # another key's endpoint is its own
    # Enabling the endpoint again lets new deliveries through.
    assert outbox.enable_endpoint(gone, KEY) and not outbox.enable_endpoint(gone, KEY)
    again = outbox.enqueue(completed("job_5"), gone, key_id=KEY)
    with dispatcher(outbox, client):
        wait_until(finished(outbox, "job_5"))
    assert outbox.get(again.id).status is DeliveryStatus.DELIVERED


def test_the_outbound_policy_is_honoured(outbox: Outbox, receiver: Receiver) -> None:
    outbox.enqueue(completed(), receiver.url("/private"), key_id=KEY)
    with OutboundClient(webhook_policy(OutboundPolicy())) as strict, dispatcher(outbox, strict):
        wait_until(finished(outbox, "job_1"))
    assert receiver.at("/private") == []  # never contacted
    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.FAILED and delivery.attempts == 1  # not retried
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("URL_NOT_ALLOWED") and "loopback" in delivery.last_error


def test_a_key_without_a_secret_is_not_sent_unsigned(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    outbox.enqueue(completed(), receiver.url(), key_id="revoked-key")
    with dispatcher(outbox, client):
        wait_until(finished(outbox, "job_1"))
    (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.FAILED and "no webhook secret" in (delivery.last_error or "")
    assert receiver.received == []


def test_the_keystore_secret_signs(db_url: str, client: OutboundClient, receiver: Receiver) -> None:
    with KeyStore(db_url) as keys, Outbox(keys.engine) as outbox:
        record, _ = keys.create("hooks", "convert", "free")
        secret = keys.webhook_secret(record.id)
        assert secret is not None
        outbox.enqueue(completed(), receiver.url(), key_id=record.id)
        with Dispatcher(outbox, client, keys.webhook_secret, schedule=FAST, poll_interval=0.02):
            wait_until(finished(outbox, "job_1"))
    (got,) = receiver.received
    assert verify_webhook(got.body, got.headers, secret)["jobId"] == "job_1"
    assert isinstance(got.verified, WebhookVerificationError)  # the receiver's SECRET is another one


# durability and concurrency


def test_a_new_dispatcher_delivers_what_a_stopped_one_left(
    db_url: str, client: OutboundClient, receiver: Receiver
) -> None:
    receiver.delay = 0.05
    with Outbox(db_url) as first:
        queued = [first.enqueue(completed(f"job_{i}"), receiver.url(), key_id=KEY) for i in range(12)]
        one = dispatcher(first, client, concurrency=1)
        one.start()
        wait_until(lambda: len(receiver.received) >= 2)
        one.stop()
        left = first.pending_count()
    assert 0 < left < 12  # stopped mid-way; what was under way finished
    with Outbox(db_url) as second, dispatcher(second, client, concurrency=3):
        wait_until(lambda: second.pending_count() == 0)
        statuses = [second.get(q.id).status for q in queued]
    assert statuses == [DeliveryStatus.DELIVERED] * 12
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert sorted(ids) == sorted(q.event_id for q in queued)  # each exactly once


def test_a_dead_dispatchers_lease_expires_and_the_event_keeps_its_id(
    db_url: str, client: OutboundClient, receiver: Receiver
) -> None:
    with Outbox(db_url) as crashed:
        queued = crashed.enqueue(completed(), receiver.url(), key_id=KEY)
        (claim,) = crashed.claim("crashed-process", limit=5, lease=0.3)  # claimed, then the process died
        assert claim.event_id == queued.event_id and claim.attempt == 1
    with Outbox(db_url) as outbox, dispatcher(outbox, client):
        assert outbox.claim("someone-else", limit=5, lease=10) == []  # the lease holds meanwhile
        wait_until(finished(outbox, "job_1"))
        (delivery,) = outbox.deliveries_for("job_1")
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    (got,) = receiver.received
    assert got.headers["webhook-id"] == queued.event_id


def test_two_dispatchers_deliver_each_event_exactly_once(
    db_url: str, client: OutboundClient, receiver: Receiver
) -> None:
    count = 40
    with Outbox(db_url) as a, Outbox(db_url) as b:  # two engines, as two processes would have
        queued = [
            (a if i % 2 else b).enqueue(completed(f"job_{i}"), receiver.url(), key_id=KEY)
            for i in range(count)
        ]
        with dispatcher(a, client, concurrency=4, name="a"), dispatcher(b, client, concurrency=4, name="b"):
            wait_until(lambda: a.pending_count() == 0)
        assert all(a.get(q.id).status is DeliveryStatus.DELIVERED for q in queued)
        assert all(a.get(q.id).attempts == 1 for q in queued)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == count and set(ids) == {q.event_id for q in queued}
    assert all(isinstance(r.verified, dict) for r in receiver.received)


def test_claims_do_not_overlap_under_contention(db_url: str) -> None:
    with Outbox(db_url) as outbox:
        for i in range(60):
            outbox.enqueue(completed(f"job_{i}"), "https://hooks.example/x", key_id=KEY)
        results: list[list[str]] = []
        lock = threading.Lock()

        def grab(name: str) -> None:
            with Outbox(db_url) as mine:
                taken: list[str] = []
                while claims := mine.claim(name, limit=3, lease=60):
                    taken.extend(c.id for c in claims)
                with lock:
                    results.append(taken)

        threads = [threading.Thread(target=grab, args=(f"t{i}",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
    every = [delivery_id for taken in results for delivery_id in taken]
    assert len(every) == 60 and len(set(every)) == 60


def test_enqueue_joins_the_callers_transaction(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    with outbox.engine.connect() as db:
        with db.begin():
            kept = outbox.enqueue(completed("job_1"), receiver.url(), key_id=KEY, connection=db)
        transaction = db.begin()
        dropped = outbox.enqueue(completed("job_2"), receiver.url(), key_id=KEY, connection=db)
        transaction.rollback()
    with pytest.raises(KeyError):
        outbox.get(dropped.id)  # the job's change was rolled back: so was its event
    assert outbox.get(kept.id).status is DeliveryStatus.PENDING
    with dispatcher(outbox, client):
        outbox.notify()
        wait_until(finished(outbox, "job_1"))
    assert [r.verified["jobId"] for r in receiver.received] == ["job_1"]


def test_finished_deliveries_are_pruned(outbox: Outbox, client: OutboundClient, receiver: Receiver) -> None:
    done = outbox.enqueue(completed("job_1"), receiver.url(), key_id=KEY)
    waiting = outbox.enqueue(completed("job_2"), receiver.url(), key_id=KEY, delay=3600)
    with dispatcher(outbox, client):
        wait_until(finished(outbox, "job_1"))
    assert outbox.prune(datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert outbox.prune(datetime.now(UTC) + timedelta(seconds=1)) == 1
    with pytest.raises(KeyError):
        outbox.get(done.id)
    assert outbox.get(waiting.id).status is DeliveryStatus.PENDING  # unfinished ones stay
    with outbox.engine.connect() as db:
        assert db.execute(sa.select(sa.func.count()).select_from(attempts)).scalar() == 0


def test_a_broken_secret_lookup_counts_as_a_failed_attempt(
    outbox: Outbox, client: OutboundClient, receiver: Receiver
) -> None:
    calls: list[str | None] = []

    def flaky(key_id: str | None) -> str:
        calls.append(key_id)
        if len(calls) == 1:
            raise RuntimeError("key database unavailable")
        return SECRET if len(calls) == 2 else "whsec_***"  # then an unusable one

    first = outbox.enqueue(completed("job_1"), receiver.url(), key_id=KEY)
    with Dispatcher(outbox, client, flaky, schedule=FAST, poll_interval=0.02, concurrency=1):
        wait_until(finished(outbox, "job_1"))
        second = outbox.enqueue(completed("job_2"), receiver.url(), key_id=KEY)
        wait_until(finished(outbox, "job_2"))
    delivery = outbox.get(first.id)
    assert delivery.status is DeliveryStatus.DELIVERED and delivery.attempts == 2
    # the exception's text is in the server's log, not in the record a client reads
    assert delivery.attempt_log[0].error == "an internal error of the server (logged there)"
    broken = outbox.get(second.id)
    assert broken.status is DeliveryStatus.FAILED and broken.attempts == 1  # retrying would not help
    assert broken.last_error is not None and "unusable" in broken.last_error
    assert len(receiver.received) == 1


def test_a_claim_passes_over_deliveries_another_claim_has_locked(postgres_url: str) -> None:
    """PostgreSQL: while another transaction holds the oldest due delivery's row, a claim takes the
    others at once instead of waiting."""
    with Outbox(postgres_url) as outbox:
        first, *others = [
            outbox.enqueue(completed(f"job_{i}"), "https://hooks.example/x", key_id=KEY) for i in range(3)
        ]
        with outbox.engine.connect() as holder, holder.begin():
            holder.execute(sa.select(deliveries.c.id).where(deliveries.c.id == first.id).with_for_update())
            got: list[list[str]] = []
            thread = threading.Thread(target=lambda: got.append([c.id for c in outbox.claim("me", 5, 60)]))
            started = time.monotonic()
            thread.start()
            thread.join(WAIT)
            took = time.monotonic() - started
        assert sorted(got[0]) == sorted(o.id for o in others) and took < 2, took
        assert [c.id for c in outbox.claim("other", 5, 60)] == [first.id]


def test_a_claim_takes_at_most_its_limit_oldest_first(outbox: Outbox) -> None:
    queued = [outbox.enqueue(completed(f"job_{i}"), "https://hooks.example/x", key_id=KEY) for i in range(7)]
    assert [c.id for c in outbox.claim("me", limit=3, lease=60)] == [q.id for q in queued[:3]]
    assert [c.id for c in outbox.claim("me", limit=3, lease=60)] == [q.id for q in queued[3:6]]
    assert [c.id for c in outbox.claim("me", limit=3, lease=60)] == [queued[6].id]


def test_a_delivery_enqueued_on_another_host_wakes_a_dispatcher_at_once(
    postgres_url: str, client: OutboundClient, receiver: Receiver
) -> None:
    """PostgreSQL: an idle dispatcher (polling every 30 s) sends what another engine enqueued within
    a second: the enqueuing transaction notifies it."""
    with (
        Outbox(postgres_url) as here,
        Outbox(postgres_url) as there,
        dispatcher(here, client, poll_interval=30),
    ):
        time.sleep(0.5)  # the dispatcher is idle, listening
        queued = there.enqueue(completed(), receiver.url(), key_id=KEY)
        wait_until(finished(here, "job_1"), timeout=2)
    assert [r.headers["webhook-id"] for r in receiver.received] == [queued.event_id]


def test_a_released_claim_is_due_again_untried(outbox: Outbox) -> None:
    queued = outbox.enqueue(completed(), "https://hooks.example/x", key_id=KEY)
    (claim,) = outbox.claim("me", limit=5, lease=60)
    assert outbox.claim("other", limit=5, lease=60) == []
    outbox.release(claim)
    (again,) = outbox.claim("other", limit=5, lease=60)
    assert again.id == queued.id and again.attempt == 1
