"""Claiming jobs from several workers at once, on SQLite and on a real PostgreSQL: every job is claimed
exactly once, a key's running limit holds when workers race for different jobs of it, and on
PostgreSQL a claim passes over a job another claim has locked instead of waiting for it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import sqlalchemy as sa
from conversio_server.jobstore import JobStore, NewJob, jobs


def status_counts(store: JobStore, key_id: str | None = None) -> dict[str, int]:
    """The jobs of ``store`` by status (of one key, or all)."""
    query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
    if key_id is not None:
        query = query.where(jobs.c.key_id == key_id)
    with store.engine.connect() as db:
        return {str(status): int(n) for status, n in db.execute(query)}


SPEC = {"inputs": ["x"], "outputFormat": "jpg", "input": {"format": "png"}}


def run_all(targets: list[Any], timeout: float = 60) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a claimer hung"


def test_six_claimers_racing_for_100_jobs_claim_each_exactly_once(database_url: str) -> None:
    stores = [JobStore(database_url) for _ in range(6)]
    try:
        stores[0].create([NewJob(spec=SPEC, key_id=f"k{n % 4}") for n in range(100)])
        start = threading.Barrier(len(stores), timeout=30)
        claimed: dict[str, list[str]] = {f"w{i}": [] for i in range(len(stores))}

        def claimer(store: JobStore, owner: str) -> None:
            start.wait()
            while (job := store.claim(owner, lease=60)) is not None:
                claimed[owner].append(job.id)

        run_all([lambda s=s, o=o: claimer(s, o) for s, o in zip(stores, claimed, strict=True)])
        every = Counter(job_id for ids in claimed.values() for job_id in ids)
        assert len(every) == 100 and set(every.values()) == {1}
        assert status_counts(stores[0]) == {"processing": 100}
        with stores[0].engine.connect() as db:
            rows = db.execute(sa.select(jobs.c.id, jobs.c.lease_owner, jobs.c.attempts)).all()
        assert {row.id: row.lease_owner for row in rows} == {
            job_id: owner for owner, ids in claimed.items() for job_id in ids
        }
        assert {row.attempts for row in rows} == {1}
        assert sum(bool(ids) for ids in claimed.values()) >= 2  # they did race
    finally:
        for store in stores:
            store.close()


def race_for_a_limited_key(stores: list[JobStore], key_id: str) -> list[Any]:
    """Queue one job of ``key_id`` (limited to one running job) per store; each store's worker admits
    its own job only, reads that none of the key's jobs runs, then all claim at once."""
    stores[0].create(
        [NewJob(spec={**SPEC, "n": n}, key_id=key_id, max_running=1) for n in range(len(stores))]
    )
    start = threading.Barrier(len(stores), timeout=30)
    claimed = []

    def claimer(store: JobStore, n: int) -> None:
        def mine(spec: dict[str, Any]) -> bool:
            return spec["n"] == n

        real_connect, calls = store.engine.connect, []

        def wait_before_claiming() -> object:
            calls.append(None)
            if len(calls) == 2:  # the first connection read the running jobs; every worker has by now
                start.wait()
            return real_connect()

        store.engine.connect = wait_before_claiming  # type: ignore[method-assign]
        try:
            claimed.append(store.claim(f"w{n}", lease=60, admits=mine))
        finally:
            del store.engine.connect

    run_all([lambda s=s, n=n: claimer(s, n) for n, s in enumerate(stores)])
    return claimed


def test_workers_racing_for_different_jobs_of_a_limited_key_start_one(database_url: str) -> None:
    """Five workers race for five different jobs of a key limited to one running job (a claim looks at
    a key's oldest five): one job starts, each claiming statement counting the others' claims. Three
    rounds, as a race that goes wrong does not go wrong every time."""
    stores = [JobStore(database_url) for _ in range(5)]
    try:
        for key_id in ("k1", "k2", "k3"):
            claimed = race_for_a_limited_key(stores, key_id)
            assert len(claimed) == len(stores) and sum(job is not None for job in claimed) == 1, key_id
            assert status_counts(stores[0], key_id) == {"processing": 1, "queued": 4}
    finally:
        for store in stores:
            store.close()


def test_a_claim_passes_over_a_locked_job_without_waiting(postgres_url: str) -> None:
    """PostgreSQL: while another transaction holds the oldest job's row (a claim in progress), a claim
    takes the next job at once."""
    store = JobStore(postgres_url)
    try:
        first, second = store.create([NewJob(spec=SPEC, key_id="k1") for _ in range(2)])
        with store.engine.connect() as holder, holder.begin():
            holder.execute(sa.select(jobs.c.id).where(jobs.c.id == first["id"]).with_for_update())
            got: list[Any] = []
            started = time.monotonic()
            run_all([lambda: got.append(store.claim("w1", lease=60))], timeout=10)
            took = time.monotonic() - started
        assert got[0] is not None and got[0].id == second["id"]
        assert took < 2, took
        assert store.get(first["id"])["status"] == "queued"
        claimed = store.claim("w2", lease=60)
        assert claimed is not None and claimed.id == first["id"]
    finally:
        store.close()
