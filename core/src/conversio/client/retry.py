"""When to try a request again, and how long to wait first.

Retried: 429 and 5xx answers (honouring ``Retry-After``), and broken connections when the request is
safe to send twice (a read, a delete, or a submission carrying an ``Idempotency-Key``). Never retried:
any other 4xx. Waits grow exponentially with full jitter, and the attempts and the total wait are both
bounded.
"""

from __future__ import annotations

import email.utils
import random
import time

import attrs

#: Methods that may be sent again after a broken connection.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})


@attrs.frozen
class RetryPolicy:
    """``attempts`` tries at most; waits of ``base * 2**n`` seconds (capped at ``cap``) with full jitter,
    or the server's ``Retry-After`` when it gives one (capped at ``max_retry_after``); at most
    ``max_total_wait`` seconds of waiting in all."""

    attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    base: float = 0.5
    cap: float = 30.0
    max_retry_after: float = 120.0
    max_total_wait: float = 300.0

    def retries_status(self, status: int) -> bool:
        return status == 429 or status >= 500

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_retry_after)
        return (rng or random).uniform(0.0, min(self.cap, self.base * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date; ``None`` when absent or invalid."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
