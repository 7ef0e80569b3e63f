"""The registry of live workers and the cluster's ``/metrics``, on SQLite and on PostgreSQL: rows that
stop being refreshed stop counting and are pruned; queue depth, workers by host and claim latency are
read from real jobs in the shared database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import dev_settings, start_server
from conversio_server.fleet import CLAIM_WINDOW, Fleet, HostLoad, Member, Presence, workers
from conversio_server.jobstore import JobStore, NewJob, jobs
from conversio_server.metrics import quantile
from prometheus_client.parser import text_string_to_metric_families

SPEC = {"inputs": ["x"], "outputFormat": "jpg"}


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    jobstore = JobStore(database_url)
    yield jobstore
    jobstore.close()


def rows(fleet: Fleet) -> list[str]:
    with fleet.engine.connect() as db:
        return sorted(db.scalars(sa.select(workers.c.name)))


def test_the_registry_counts_live_workers_by_host_and_forgets_gone_ones(store: JobStore) -> None:
    fleet = Fleet(store.engine)
    a, b, c = Member("a", "host-1"), Member("b", "host-1"), Member("c", "host-2")
    fleet.register(a, running=0, draining=False, ttl=30)
    fleet.register(b, running=2, draining=True, ttl=30)
    fleet.register(c, running=0, draining=False, ttl=0.3)
    assert fleet.census().hosts == {"host-1": HostLoad(2, 1, 2), "host-2": HostLoad(1, 0, 0)}
    fleet.refresh(a, running=3, draining=False, ttl=30)
    time.sleep(0.4)  # c missed its beats: it no longer counts, and the next refresh prunes it
    assert fleet.census().hosts == {"host-1": HostLoad(2, 1, 5)}
    assert rows(fleet) == ["a", "b", "c"]
    fleet.refresh(a, running=0, draining=True, ttl=30)
    assert rows(fleet) == ["a", "b"]
    fleet.leave("b")
    assert fleet.census().hosts == {"host-1": HostLoad(1, 1, 0)}
    fleet.leave("a")
    fleet.refresh(a, running=1, draining=False, ttl=30)  # pruned after a long pause: registers again
    assert rows(fleet) == ["a"] and fleet.census().hosts == {"host-1": HostLoad(1, 0, 1)}


def test_presence_registers_refreshes_and_leaves(store: JobStore) -> None:
    fleet = Fleet(store.engine)
    state = {"now": (0, False)}
    with Presence(fleet, Member("w", "host-9"), 0.1, lambda: state["now"]) as presence:
        assert fleet.census().hosts == {"host-9": HostLoad(1, 0, 0)}
        state["now"] = (2, True)
        presence.beat()
        deadline = time.monotonic() + 5
        while fleet.census().hosts["host-9"] != HostLoad(1, 1, 2) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fleet.census().hosts == {"host-9": HostLoad(1, 1, 2)}
        time.sleep(0.5)  # several intervals: refreshed, so still counted
        assert fleet.census().hosts == {"host-9": HostLoad(1, 1, 2)}
    assert rows(fleet) == []


def test_the_census_reads_the_queue_and_the_recent_claims(store: JobStore) -> None:
    store.create([NewJob(spec=SPEC, key_id=f"k{i}") for i in range(5)])
    time.sleep(0.3)
    claimed = [store.claim(f"w{i}", lease=30) for i in range(3)]
    assert all(claimed)
    store.adopt(NewJob(spec=SPEC, key_id="sync"), "server-1", 30, time.time() - 2)  # never queued
    census = Fleet(store.engine).census()
    assert (census.queued, census.processing, census.claimed) == (2, 4, 3)
    assert len(census.waits) == 3 and all(0.3 <= wait < 10 for wait in census.waits), census.waits
    assert list(census.waits) == sorted(census.waits)
    first = claimed[0]
    assert first is not None
    with store.engine.begin() as db:  # a claim before the window is not counted
        db.execute(
            jobs.update().where(jobs.c.id == first.id).values(started_at=time.time() - CLAIM_WINDOW - 1)
        )
    assert Fleet(store.engine).census().claimed == 2


def test_quantiles_are_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert [quantile(values, q) for q in (0.5, 0.9, 0.99, 1.0)] == [50.0, 90.0, 99.0, 100.0]
    assert quantile([7.0], 0.5) == 7.0
    assert quantile([], 0.5) != quantile([], 0.5)  # NaN


def test_metrics_show_the_whole_cluster(tmp_path: Path, database_url: str) -> None:
    server = start_server(
        dev_settings(tmp_path, job_workers=0, webhook_dispatchers=0, database_url=database_url)
    )
    try:
        store: JobStore = server.app.state.server.jobstore
        fleet = Fleet(store.engine)  # workers of other hosts, seen through the shared database
        fleet.register(Member("w1", "worker-a"), running=1, draining=False, ttl=30)
        fleet.register(Member("w2", "worker-a"), running=0, draining=True, ttl=30)
        fleet.register(Member("w3", "worker-b"), running=2, draining=False, ttl=30)
        store.create([NewJob(spec=SPEC, key_id="k") for _ in range(4)])
        time.sleep(0.2)
        assert store.claim("w1", lease=30) is not None
        with server.client() as http:
            reply = http.get("/metrics")
        assert reply.status_code == 200
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples
        }
        assert samples[("conversio_jobs_queued", ())] == 3
        assert samples[("conversio_jobs_processing", ())] == 1
        assert samples[("conversio_job_workers", (("host", "worker-a"),))] == 2
        assert samples[("conversio_job_workers", (("host", "worker-b"),))] == 1
        assert samples[("conversio_job_workers_draining", (("host", "worker-a"),))] == 1
        assert samples[("conversio_jobs_running", (("host", "worker-b"),))] == 2
        assert samples[("conversio_jobs_claimed_recently", ())] == 1
        median = samples[("conversio_job_claim_latency_seconds", (("quantile", "0.5"),))]
        assert 0.2 <= median < 10, median
        assert samples[("conversio_job_workers_alive", ())] == 0  # this node's own: none
    finally:
        server.stop()
