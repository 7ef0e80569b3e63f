"""Tiers, the per-key rate limiter, the concurrency gate and the monthly quota."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conversio_server.errors import ApiError
from conversio_server.keys import KeyStore
from conversio_server.limiting import ConcurrencyGate, QuotaCounter, RateLimiter
from conversio_server.tiers import DEFAULT_TIERS, MB, Tier, load_tiers

from conversio.errors import InvalidOption


class Clock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# tiers


def test_the_default_tiers_are_the_guides() -> None:
    free, starter, pro, enterprise = (
        DEFAULT_TIERS[n] for n in ("free", "starter", "professional", "enterprise")
    )
    assert (
        free.requests_per_minute,
        free.concurrent_jobs,
        free.max_file_bytes,
        free.monthly_conversions,
    ) == (
        10,
        2,
        25 * MB,
        100,
    )
    assert (starter.requests_per_minute, starter.concurrent_jobs, starter.max_file_bytes) == (60, 5, 100 * MB)
    assert starter.monthly_conversions == 1000
    assert (pro.requests_per_minute, pro.concurrent_jobs, pro.max_file_bytes) == (300, 20, 500 * MB)
    assert pro.monthly_conversions == 10_000
    assert enterprise == Tier(name="enterprise")


def test_tiers_load_from_toml_json_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = tmp_path / "tiers.toml"
    toml.write_text(
        "[tiers.free]\nrequests_per_minute = 20\n\n"
        '[tiers.team]\nrequests_per_minute = 120\nmax_file_bytes = "unlimited"\n'
    )
    tiers = load_tiers(toml)
    assert tiers["free"].requests_per_minute == 20 and tiers["free"].monthly_conversions == 100
    assert tiers["team"] == Tier(name="team", requests_per_minute=120)
    assert tiers["starter"] == DEFAULT_TIERS["starter"]

    as_json = tmp_path / "tiers.json"
    as_json.write_text(json.dumps({"starter": {"monthly_conversions": None}}))
    assert load_tiers(as_json)["starter"].monthly_conversions is None

    monkeypatch.setenv("CONVERSIO_SERVER_TIERS", '{"free": {"concurrent_jobs": 1}}')
    assert load_tiers()["free"].concurrent_jobs == 1
    monkeypatch.delenv("CONVERSIO_SERVER_TIERS")
    assert load_tiers() == dict(DEFAULT_TIERS)


@pytest.mark.parametrize(
    "config",
    [
        {"free": {"requests_per_minute": 0}},
        {"free": {"requests_per_minute": "ten"}},
        {"free": {"requests_per_minute": True}},
        {"free": {"rpm": 5}},
        {"free": 5},
        "{not json",
        "/nonexistent/tiers.toml",
    ],
)
def test_bad_tier_configuration_is_a_clear_error(config: object) -> None:
    with pytest.raises(InvalidOption):
        load_tiers(config)  # type: ignore[arg-type]


# rate limiting


def test_the_eleventh_request_in_a_minute_is_refused_on_free() -> None:
    clock, wall = Clock(), Clock(1_800_000_000.0)
    limiter = RateLimiter(clock=clock, wall_clock=wall)
    decisions = []
    for _ in range(10):
        decisions.append(limiter.hit("k", 10))
        clock.now += 1
        wall.now += 1
    assert all(d.allowed for d in decisions)
    assert [d.remaining for d in decisions] == list(range(9, -1, -1))
    assert decisions[0].headers() == {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "9",
        "X-RateLimit-Reset": "1800000060",
    }
    refused = limiter.hit("k", 10)  # at t=10 s: the first request leaves the window at t=60 s
    assert not refused.allowed and refused.remaining == 0 and refused.retry_after == 50
    assert refused.headers()["Retry-After"] == "50" and refused.headers()["X-RateLimit-Reset"] == "1800000060"
    with pytest.raises(ApiError) as exc:
        refused.raise_if_refused()
    assert (
        exc.value.status == 429
        and exc.value.code == "RATE_LIMITED"
        and exc.value.headers["Retry-After"] == "50"
    )
    assert limiter.hit("other", 10).allowed  # per key

    clock.now += 50  # t=60: exactly one slot is free again
    assert limiter.hit("k", 10).allowed
    assert not limiter.hit("k", 10).allowed


def test_unlimited_tiers_are_never_refused_and_carry_no_headers() -> None:
    limiter = RateLimiter()
    decisions = [limiter.hit("k", None) for _ in range(1000)]
    assert all(d.allowed for d in decisions) and decisions[-1].headers() == {}


def test_the_limiter_is_exact_under_threads() -> None:
    limiter = RateLimiter()
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            verdict = limiter.hit("k", 60).allowed
            with lock:
                allowed.append(verdict)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 60 and len(allowed) == 400


# concurrency


def test_the_gate_refuses_the_job_beyond_the_tier_and_frees_slots() -> None:
    gate = ConcurrencyGate(retry_after=3)

    async def scenario() -> None:
        async with gate.slot("k", 2), gate.slot("k", 2):
            assert gate.running("k") == 2
            with pytest.raises(ApiError) as exc:
                async with gate.slot("k", 2):
                    pass
            assert exc.value.status == 429 and exc.value.headers == {"Retry-After": "3"}
            assert exc.value.details["reason"] == "CONCURRENT_JOBS"
            async with gate.slot("other", 2):
                pass
        assert gate.running("k") == 0
        with pytest.raises(RuntimeError):
            async with gate.slot("k", 2):
                raise RuntimeError("the job failed")
        assert gate.running("k") == 0
        async with gate.slot("k", None), gate.slot("k", None), gate.slot("k", None):
            assert gate.running("k") == 3

    asyncio.run(scenario())
    with gate.hold("k", 1):
        assert not gate.try_acquire("k", 1)
    assert gate.try_acquire("k", 1)
    gate.release("k")
    assert gate.running("k") == 0


# quota


def test_the_quota_is_enforced_and_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    november = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    with KeyStore(url) as store:
        quota = QuotaCounter(store, clock=lambda: november)
        for _ in range(100):
            quota.consume("k", 100)
        with pytest.raises(ApiError) as exc:
            quota.consume("k", 100)
        assert exc.value.code == "QUOTA_EXCEEDED" and exc.value.status == 403
        assert exc.value.details == {"limit": 100, "used": 100, "resetsAt": "2026-12-01T00:00:00Z"}
        with pytest.raises(ApiError):
            quota.check("k", 100)
        quota.check("k", None)
    with KeyStore(url) as reopened:
        quota = QuotaCounter(reopened, clock=lambda: november)
        assert quota.used("k") == 100
        with pytest.raises(ApiError) as exc:
            quota.consume("k", 100)
        assert exc.value.code == "QUOTA_EXCEEDED"
        quota.refund("k")
        assert quota.consume("k", 100) == 100
        december = QuotaCounter(reopened, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
        assert december.used("k") == 0 and december.consume("k", 100, count=5) == 5
