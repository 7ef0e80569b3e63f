"""Limits per key: requests per minute, concurrent jobs, conversions per month.

- :class:`RateLimiter` — a sliding one-minute window per key, in memory (per process),
  answering what the ``X-RateLimit-*`` headers and ``Retry-After`` need.
- :class:`ConcurrencyGate` — at most ``concurrent_jobs`` jobs per key at once; over it,
  429 at once rather than a queue.
- :class:`QuotaCounter` — conversions per calendar month, in the key database
  (:class:`~conversio_server.keys.KeyStore`), so a restart does not reset them.

All are safe to share between threads and the event loop (short critical sections, no
awaiting under a lock).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import attrs

from conversio_server.errors import ApiError
from conversio_server.keys import KeyStore, current_period

WINDOW = 60.0


@attrs.frozen
class RateDecision:
    """One request's verdict: allowed or not, and the numbers for the response headers.

    ``reset`` is the unix time (seconds) when a request slot frees up again;
    ``retry_after`` the whole seconds to wait when not allowed (else 0).
    """

    allowed: bool
    limit: int | None
    remaining: int | None
    reset: int
    retry_after: int = 0

    def headers(self) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers (none when unlimited), and ``Retry-After`` when refused."""
        if self.limit is None or self.remaining is None:
            return {}
        values = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            values["Retry-After"] = str(self.retry_after)
        return values

    def raise_if_refused(self) -> None:
        if not self.allowed:
            raise ApiError(
                "RATE_LIMITED",
                f"more than {self.limit} requests a minute; retry in {self.retry_after} s",
                details={"limit": self.limit, "retryAfter": self.retry_after},
                headers=self.headers(),
            )


class RateLimiter:
    """A sliding window of ``window`` seconds per key; refused requests do not count."""

    def __init__(
        self,
        window: float = WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self._clock = clock
        self._wall = wall_clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def hit(self, key: str, limit: int | None) -> RateDecision:
        """Count one request of ``key`` if it fits under ``limit`` per window (``None``: unlimited)."""
        now = self._clock()
        wall = self._wall()
        if limit is None:
            return RateDecision(allowed=True, limit=None, remaining=None, reset=int(wall))
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            # the oldest counted request leaves the window at hits[0] + window
            frees_at = hits[0] + self.window if hits else now
            remaining = max(limit - len(hits), 0)
            self._calls += 1
            if self._calls % 1024 == 0:
                self._forget_idle(now)
        wait = max(frees_at - now, 0.0)
        return RateDecision(
            allowed=allowed,
            limit=limit,
            remaining=remaining,
            reset=math.ceil(wall + wait),
            retry_after=0 if allowed else max(math.ceil(wait), 1),
        )

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]


class ConcurrencyGate:
    """Counts running jobs per key; refuses (429) the one beyond the key's limit instead of queueing it."""

    def __init__(self, retry_after: int = 5) -> None:
        self.retry_after = retry_after
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def running(self, key: str) -> int:
        with self._lock:
            return self._running.get(key, 0)

    def try_acquire(self, key: str, limit: int | None) -> bool:
        """Take a slot for ``key`` if one is free; pair with :meth:`release`."""
        with self._lock:
            count = self._running.get(key, 0)
            if limit is not None and count >= limit:
                return False
            self._running[key] = count + 1
            return True

    def acquire(self, key: str, limit: int | None) -> None:
        """Take a slot or raise RATE_LIMITED (429 with ``Retry-After``)."""
        if not self.try_acquire(key, limit):
            raise ApiError(
                "RATE_LIMITED",
                f"already {limit} jobs running for this key, the most its tier allows",
                details={"reason": "CONCURRENT_JOBS", "limit": limit, "retryAfter": self.retry_after},
                headers={"Retry-After": str(self.retry_after)},
            )

    def release(self, key: str) -> None:
        with self._lock:
            count = self._running.get(key, 0) - 1
            if count > 0:
                self._running[key] = count
            else:
                self._running.pop(key, None)

    @contextlib.contextmanager
    def hold(self, key: str, limit: int | None) -> Iterator[None]:
        """A slot for the duration of the block (sync code, worker threads)."""
        self.acquire(key, limit)
        try:
            yield
        finally:
            self.release(key)

    @contextlib.asynccontextmanager
    async def slot(self, key: str, limit: int | None) -> AsyncIterator[None]:
        """A slot for the duration of the block: ``async with gate.slot(key, tier.concurrent_jobs):``."""
        self.acquire(key, limit)
        try:
            yield
        finally:
            self.release(key)


def _next_month(now: datetime) -> datetime:
    first = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


class QuotaCounter:
    """Conversions per key and month, kept in the key database; over the quota: 403 QUOTA_EXCEEDED."""

    def __init__(self, store: KeyStore, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self._clock = clock

    def used(self, key: str) -> int:
        return self.store.usage(key, current_period(self._clock()))

    def _exceeded(self, key: str, limit: int, count: int) -> ApiError:
        now = self._clock()
        used = self.store.usage(key, current_period(now))
        return ApiError(
            "QUOTA_EXCEEDED",
            f"the monthly quota of {limit} conversions is used up ({used} used"
            + (f", {count} more asked" if count > 1 else "")
            + ")",
            details={
                "limit": limit,
                "used": used,
                "resetsAt": _next_month(now).isoformat().replace("+00:00", "Z"),
            },
        )

    def check(self, key: str, limit: int | None, count: int = 1) -> None:
        """Raise QUOTA_EXCEEDED if ``count`` more conversions would not fit (counts nothing)."""
        if limit is not None and self.used(key) + count > limit:
            raise self._exceeded(key, limit, count)

    def consume(self, key: str, limit: int | None, count: int = 1) -> int:
        """Count ``count`` conversions (atomically) or raise QUOTA_EXCEEDED; the month's new total."""
        total = self.store.consume(key, limit, count, current_period(self._clock()))
        if total is None:
            assert limit is not None
            raise self._exceeded(key, limit, count)
        return total

    def refund(self, key: str, count: int = 1) -> None:
        """Give back conversions counted for work that was refused or never ran."""
        self.store.refund(key, count, current_period(self._clock()))
