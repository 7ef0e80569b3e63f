"""The retry schedule: how long a failed delivery waits before its next attempt, and when it is given up."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

import attrs

from conversio.errors import InvalidOption

#: The default retry delays (seconds) after the 1st, 2nd, … failed attempt: 5 s, 30 s, 2 min,
#: 10 min, 1 h, 3 h, 6 h, 12 h, so nine attempts over up to 22 hours.
DEFAULT_RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def _delays(value: Sequence[float] | str) -> tuple[float, ...]:
    if isinstance(value, str):
        return RetrySchedule.parse(value).delays
    result = tuple(float(v) for v in value)
    if any(not math.isfinite(v) or v < 0 for v in result):
        raise InvalidOption(f"retry delays are seconds >= 0, not {value!r}", option="webhook_retries")
    return result


@attrs.frozen(kw_only=True)
class RetrySchedule:
    """When failed deliveries are tried again.

    ``delays[n]`` is the wait after the ``n+1``-th failed attempt, so a delivery gets at most
    ``len(delays) + 1`` attempts. With ``jitter`` (full jitter) each wait is drawn uniformly
    from ``[0, delay]``, which spreads the retries of many deliveries that failed together.
    A receiver's ``Retry-After`` (seconds) lengthens a wait, up to ``max_retry_after``.
    """

    delays: tuple[float, ...] = attrs.field(default=DEFAULT_RETRY_DELAYS, converter=_delays)
    jitter: bool = True
    max_retry_after: float = 24 * 3600.0

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay(
        self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (from 1); ``None`` when none is left."""
        if attempt < 1 or attempt > len(self.delays):
            return None
        cap = self.delays[attempt - 1]
        wait = (rng or random).uniform(0.0, cap) if self.jitter else cap
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait

    @classmethod
    def parse(cls, text: str, *, jitter: bool = True) -> RetrySchedule:
        """A schedule from text such as ``"5s, 30s, 2m, 10m, 1h, 3h, 6h, 12h"`` (a bare number is seconds)."""
        values: list[float] = []
        for part in text.split(","):
            if not part.strip():
                continue
            match = _DURATION.match(part)
            if match is None:
                raise InvalidOption(
                    f"{part.strip()!r} is not a duration such as 30s, 2m, 1h", option="webhook_retries"
                )
            values.append(float(match.group(1)) * _UNIT[(match.group(2) or "s").lower()])
        return cls(delays=tuple(values), jitter=jitter)
