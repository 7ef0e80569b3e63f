"""The dispatcher: a thread that claims the outbox's due deliveries and a bounded pool that sends them.

It records each attempt's outcome in the outbox (asking the :class:`RetrySchedule` when a failed
delivery is tried again), reports it to the metrics, and wakes itself for the retries it scheduled.
"""

from __future__ import annotations

import heapq
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import sqlalchemy as sa

from conversio.errors import InvalidOption
from conversio.webhooks import Secrets
from conversio_server.outbound import OutboundClient
from conversio_server.outbox.metrics import WebhookMetrics
from conversio_server.outbox.records import Attempt, Claim, Outcome
from conversio_server.outbox.schedule import RetrySchedule
from conversio_server.outbox.sending import Verdict, post
from conversio_server.outbox.store import Outbox

log = logging.getLogger("conversio_server.outbox")

#: ``key_id -> secret(s)`` to sign with (``None``: the key has none, the delivery fails).
SecretLookup = Callable[[str | None], Secrets | None]

_INTERNAL_ERROR = Verdict(outcome=Outcome.RETRY, error="an internal error of the server (logged there)")


class Dispatcher:
    """Sends the outbox's due deliveries: a claiming thread and a pool of ``concurrency`` senders.

    ``client`` is the server's :class:`OutboundClient` (made with :func:`webhook_policy`);
    ``secret_for`` gives the secret(s) of a key id (e.g. ``KeyStore.signing_secrets``).
    ``lease`` (default: the client's total timeout plus 30 s) is how long a claimed delivery
    is reserved; ``poll_interval`` how often the database is asked for due deliveries when
    nothing wakes the dispatcher: an enqueue in this process does, a worker's datagram does, and so
    does the time of a retry this dispatcher scheduled.
    """

    def __init__(
        self,
        outbox: Outbox,
        client: OutboundClient,
        secret_for: SecretLookup,
        *,
        schedule: RetrySchedule | None = None,
        concurrency: int = 4,
        poll_interval: float = 2.0,
        lease: float | None = None,
        metrics: WebhookMetrics | None = None,
        name: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise InvalidOption("a dispatcher needs a concurrency of at least 1", option="concurrency")
        self.outbox = outbox
        self.client = client
        self.secret_for = secret_for
        self.schedule = schedule or RetrySchedule()
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease if lease is not None else client.policy.total_timeout + 30.0
        self.metrics = metrics
        self.name = name or f"dispatcher-{secrets.token_hex(4)}"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._retry_lock = threading.Lock()
        self._retries: list[float] = []  # heap: time.monotonic() of the retries this dispatcher scheduled
        self._slots = threading.Semaphore(concurrency)
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._rng = random.Random()

    def __enter__(self) -> Dispatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=f"{self.name}-send")
        self.outbox.listen(self._wake)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming and wait (up to ``timeout``) for the sends under way; the rest stays pending."""
        self._stopping.set()
        self._wake.set()
        self.outbox.unlisten(self._wake)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            deadline, held = time.monotonic() + timeout, 0
            while held < self.concurrency:  # holding every slot means that no send is running
                if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    log.warning("%s: a webhook send is still running after %.0f s", self.name, timeout)
                    break
                held += 1
            self._slots_release(held)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            claimed = 0
            free = self._free_slots()
            if free:
                try:
                    claims = self.outbox.claim(self.name, free, self.lease)
                except sa.exc.SQLAlchemyError:
                    log.exception("%s: could not claim webhook deliveries", self.name)
                    claims = []
                for claim in claims:  # stop() waits for this thread before it closes the pool
                    try:
                        assert self._pool is not None
                        self._pool.submit(self._send_and_release, claim)
                        claimed += 1
                    except (AssertionError, RuntimeError):  # the pool closed after a stop() timed out
                        self.outbox.release(claim)
                self._slots_release(free - claimed)
            if free and claimed == free:
                continue  # there may be more due: look again as soon as a slot is free
            self._wake.wait(self._until_next_look())

    def _until_next_look(self) -> float:
        """Seconds to sleep: the poll interval, or less when a retry scheduled here is due sooner."""
        now = time.monotonic()
        with self._retry_lock:
            if self._retries and self._retries[0] <= now:
                while self._retries and self._retries[0] <= now:  # due: the next claim takes them
                    heapq.heappop(self._retries)
                return 0.0
            return min(self.poll_interval, self._retries[0] - now) if self._retries else self.poll_interval

    def _retry_at(self, when: float) -> None:
        with self._retry_lock:
            heapq.heappush(self._retries, when)

    def _free_slots(self) -> int:
        """Take every free slot (the unused ones are given back after claiming)."""
        taken = 0
        while taken < self.concurrency and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _slots_release(self, count: int) -> None:
        for _ in range(count):
            self._slots.release()

    def _send_and_release(self, claim: Claim) -> None:
        started_at, started = datetime.now(UTC), time.monotonic()
        try:
            self._record(claim, started_at, started, self._send(claim))
        except Exception:
            log.exception("%s: delivery %s failed unexpectedly", self.name, claim.id)
            try:  # counted as a failed attempt; if even that fails, the lease expires and it is retried
                self._record(claim, started_at, started, _INTERNAL_ERROR)
            except Exception:
                log.exception("%s: could not record the outcome of delivery %s", self.name, claim.id)
        finally:
            self._slots.release()
            self._wake.set()

    def _send(self, claim: Claim) -> Verdict:
        disabled = self.outbox.disabled_reason(claim.url, claim.key_id)
        if disabled is not None:
            return Verdict(outcome=Outcome.DISABLED, error=f"not sent: {disabled}")
        return post(claim, self.client, self.secret_for(claim.key_id))

    def _record(self, claim: Claim, started_at: datetime, started: float, verdict: Verdict) -> None:
        """Store the attempt, with a retry when ``verdict`` asks for one and the schedule has one left."""
        outcome, error, retry_in = verdict.outcome, verdict.error, None
        if outcome is Outcome.RETRY:
            retry_in = self.schedule.delay(claim.attempt, verdict.retry_after, self._rng)
            if retry_in is None:
                outcome, error = Outcome.FAILED, f"{error} (gave up after {claim.attempt} attempts)"
        attempt = Attempt(
            number=claim.attempt,
            started_at=started_at,
            duration=time.monotonic() - started,
            outcome=outcome,
            status_code=verdict.status_code,
            error=error,
        )
        if not self.outbox.finish(claim, attempt, retry_in=retry_in, disable_reason=verdict.disable):
            log.warning("%s: the lease of delivery %s expired before its attempt ended", self.name, claim.id)
        elif retry_in is not None:
            self._retry_at(time.monotonic() + retry_in)
        if self.metrics is not None:
            self.metrics.observe(claim, attempt)
