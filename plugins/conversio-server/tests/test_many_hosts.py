"""Many hosts for real: two API nodes and three workers, each a process with a data folder of its own,
sharing nothing but a PostgreSQL database and an S3 server. 200 jobs (a batch among them) go in
through both API nodes with real API keys; mid-run an API node is killed (``kill -9``) while it is
sending webhooks, and so is a worker running jobs; both are started again. Every job completes
exactly once, its outputs recorded once, present in the store and downloadable; every webhook event
is delivered, each job's terminal event once (a delivery the kill cut off arrives again, with the same
id and a valid signature); the database and the store are left consistent."""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cluster_support import Cluster, Entrances, Gate, Node, create_key, group_pids, local_ports
from cluster_workload import Expected, Work, check_output, image_job, workload
from conftest import needs
from jobs_support.receiver import Receiver

from conversio.webhooks import verify_webhook

needs("image", "pdf", "office", "s3")

#: Jobs sent one by one: images, PDF operations, Word documents to PDF; and the batch's (images).
IMAGES, PDFS, DOCS, BATCH = 152, 24, 4, 20
TERMINAL = ("job.completed", "job.failed", "job.cancelled")
BUCKET = "cluster"
#: What every node is told (besides the database and the store): short job leases, so that a killed
#: worker's jobs go back to the queue within seconds; two jobs at once per worker (two cores here).
NODE_SETTINGS = {
    "CONVERSIO_SERVER_URL_ALLOW": "127.0.0.1",
    "CONVERSIO_SERVER_WORKERS": "1",
    "CONVERSIO_SERVER_JOB_LEASE": "3",
    "CONVERSIO_SERVER_JOB_HEARTBEAT": "0.5",
    "CONVERSIO_SERVER_JOB_POLL_INTERVAL": "1",
    "CONVERSIO_SERVER_JOB_CONCURRENCY": "2",
    "CONVERSIO_SERVER_JOB_DRAIN_TIMEOUT": "5",
}


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.1)


class Database:
    """The test's own look at the shared database."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, statement: str, **params: Any) -> list[Any]:
        with self.engine.connect() as db:
            return list(db.execute(sa.text(statement), params).all())

    def value(self, statement: str, **params: Any) -> Any:
        return self.rows(statement, **params)[0][0]


def kill_while_sending_webhooks(cluster: Cluster, node: Node, gate: Gate) -> set[str]:
    """Hold the webhook receiver's answers until ``node`` has deliveries in flight, ``kill -9`` it,
    let the answers go, and start it again; returns the event ids whose delivery the kill cut off."""
    gate.close()
    try:
        gate.wait_held(lambda held: bool({r.port for r in held} & local_ports(node.pid)))
        ports = local_ports(node.pid)
        node.kill()
        cut = {r.headers["webhook-id"] for r in gate.held if r.port in ports}
    finally:
        gate.open()
    cluster.restart(node)
    return cut


def kill_a_busy_worker(cluster: Cluster, workers: list[Node], db: Database) -> tuple[Node, set[str]]:
    """``kill -9`` a worker while it runs jobs, and start it again; returns it and the jobs it held."""
    owner = re.compile(r"^worker-(\d+)-")
    deadline = time.monotonic() + 60
    while True:
        running = db.rows("SELECT id, lease_owner FROM jobs WHERE status = 'processing'")
        for worker in workers:
            pids = group_pids(worker.pid)
            held = {job for job, name in running if (m := owner.match(name or "")) and int(m[1]) in pids}
            if held:
                worker.kill()
                still = db.rows(
                    "SELECT id FROM jobs WHERE status = 'processing' AND id = ANY(:ids)", ids=list(held)
                )
                cluster.restart(worker)
                return worker, {row.id for row in still}
        assert time.monotonic() < deadline, f"no worker ran a job; running: {running}"
        time.sleep(0.05)


def submit_all(
    works: dict[int, Work], entrances: dict[str, Entrances], hook: str, submitted: dict[int, str]
) -> None:
    """Submit ``works`` one by one, each with an idempotency key (sent again to the other node when a
    node does not answer), by turns through each API node, under the key of its number's parity."""
    for n, work in works.items():
        key = ("alpha", "beta")[n % 2]
        reply = entrances[key].request(
            "POST",
            "/v1/jobs",
            prefer=(n // 2) % 2,
            json={**work.request, "webhook": f"{hook}/hook/{key}"},
            headers={"Idempotency-Key": f"work-{n}"},
        )
        assert reply.status_code == 202, reply.text
        submitted[n] = reply.json()["jobId"]


def check_job(entrances: Entrances, turn: int, job_id: str, expected: tuple[Expected, ...]) -> list[str]:
    """The job as an API node shows it is complete with its outputs, each downloadable (signed link, no
    key) and as expected; returns the outputs' sha256."""
    job = entrances.request("GET", f"/v1/jobs/{job_id}", prefer=turn).json()
    assert job["status"] == "completed", job
    assert len(job["outputs"]) == len(expected), (job["outputs"], expected)
    digests = []
    for output, want in zip(job["outputs"], expected, strict=True):
        download = httpx.get(output["downloadUrl"], timeout=30)
        assert download.status_code == 200, (output, download.text)
        check_output(download.content, want)
        digests.append(output["sha256"])
    return digests


def webhooks_by_event(receiver: Receiver, secrets: dict[str, str]) -> dict[str, list[Any]]:
    """Every webhook received, by event id: each signed by its key's secret, every copy the same body."""
    by_id: dict[str, list[Any]] = defaultdict(list)
    for received in receiver.matching(lambda r: r.method == "POST"):
        verify_webhook(received.body, received.headers, secrets[received.path.rsplit("/", 1)[-1]])
        by_id[received.headers["webhook-id"]].append(received)
    for event_id, copies in by_id.items():
        assert len({c.body for c in copies}) == 1, f"{event_id} was sent with different bodies"
    return by_id


def store_objects(s3: Any, prefix: str) -> dict[str, set[str]]:
    """The store's object keys under ``prefix`` by kind (``meta``: artifact ids; ``refs``:
    ``sha/id``; ``blobs``: sha; ``cache``: names)."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            kind, *rest = item["Key"][len(prefix) + 1 :].split("/")
            name = "/".join(rest[-2:]) if kind == "refs" else rest[-1]
            kinds[kind].add(name.removesuffix(".json"))
    return kinds


def orphans(objects: dict[str, set[str]], known: set[str]) -> dict[str, int]:
    """Artifacts no job names, references without metadata, blobs without references."""
    referenced = {ref.split("/")[0] for ref in objects["refs"]}
    return {
        "artifacts": len(objects["meta"] - known),
        "references": sum(ref.split("/")[1] not in objects["meta"] for ref in objects["refs"]),
        "blobs": len(objects["blobs"] - referenced),
    }


def job_artifacts(rows: Iterable[Any]) -> set[str]:
    """Every artifact the jobs name: inputs, outputs, and what their steps made."""
    named = set()
    for row in rows:
        named.update(row.spec["inputs"])
        named.update(o["artifactId"] for o in row.outputs)
        named.update(a for step in row.steps for a in step.get("artifacts", ()))
    return named


@pytest.mark.timeout(400)
def test_two_api_nodes_and_three_workers_survive_kills(tmp_path: Path, postgres_url: str) -> None:
    import boto3
    from conversio_s3.settings import S3Settings
    from conversio_s3.store import STALE_AFTER, S3Store
    from conversio_s3.testing import TEST_ENVIRONMENT, local_s3_server

    started = time.monotonic()
    gate = Gate()
    receiver = Receiver(answer=gate)
    db = Database(postgres_url)
    entrances: dict[str, Entrances] = {}
    with local_s3_server() as endpoint, Cluster(tmp_path, TEST_ENVIRONMENT) as cluster:
        try:
            s3 = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=TEST_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=TEST_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
                region_name=TEST_ENVIRONMENT["AWS_DEFAULT_REGION"],
            )
            s3.create_bucket(Bucket=BUCKET)
            store_url = f"s3://{BUCKET}/shared?endpoint={endpoint}&path_style=1"
            cluster.env.update(
                NODE_SETTINGS,
                CONVERSIO_SERVER_DATABASE_URL=postgres_url,
                CONVERSIO_SERVER_STORE_URL=store_url,
            )
            keys = {"alpha": create_key(postgres_url, "alpha", cluster.env)}
            api = [cluster.api("api-a"), cluster.api("api-b")]
            assert api[0].url is not None
            workers = [
                cluster.worker(f"worker-{n}", {"CONVERSIO_SERVER_PUBLIC_URL": api[0].url}) for n in range(3)
            ]
            cluster.start(*api, *workers)
            keys["beta"] = create_key(postgres_url, "beta", cluster.env)  # while the API nodes run
            secrets = {name: key["webhookSecret"] for name, key in keys.items()}
            entrances.update({name: Entrances(api, key["key"]) for name, key in keys.items()})
            boot = time.monotonic() - started

            works = dict(enumerate(workload(IMAGES, PDFS, DOCS)))
            submitted: dict[int, str] = {}
            with ThreadPoolExecutor(2) as pool:
                halves = [{n: w for n, w in works.items() if n % 2 == side} for side in (0, 1)]
                sending = [
                    pool.submit(submit_all, half, entrances, receiver.url, submitted) for half in halves
                ]
                wait_until(lambda: len(submitted) >= len(works) // 3, "a third of the jobs submitted", 120)
                cut = kill_while_sending_webhooks(cluster, api[0], gate)
                victim, resumed = kill_a_busy_worker(cluster, workers, db)
                for future in sending:
                    future.result(timeout=240)
            batch_works = [image_job(1000 + n) for n in range(BATCH)]
            reply = entrances["alpha"].request(
                "POST",
                "/v1/batch",
                json={
                    "jobs": [w.request for w in batch_works],
                    "webhook": f"{receiver.url}/batch/alpha",
                    "callbackMode": "both",
                },
            )
            assert reply.status_code == 202, reply.text
            batch_id = reply.json()["batchId"]
            batch_jobs = [j["jobId"] for j in reply.json()["jobs"]]
            total = len(works) + BATCH
            wait_until(
                lambda: (
                    db.value("SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled')")
                    == total
                ),
                "every job finished",
                180,
            )
            finished = time.monotonic() - started
            wait_until(
                lambda: db.value("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'") == 0,
                "every webhook delivered",
                120,
            )
            delivered = time.monotonic() - started

            # every job completed exactly once: one job per idempotency key, no lease left
            rows = db.rows("SELECT * FROM jobs")
            assert len(rows) == total
            unfinished = [
                (r.id, r.status, r.attempts, r.error, r.steps) for r in rows if r.status != "completed"
            ]
            assert not unfinished, unfinished
            assert {r.idempotency_key for r in rows if r.batch_id is None} == {f"work-{n}" for n in works}
            assert {r.id for r in rows if r.batch_id is None} == set(submitted.values())
            assert all(r.lease_expires is None and r.finished_at for r in rows)
            attempts = {r.id: r.attempts for r in rows}
            assert resumed and all(attempts[j] >= 2 for j in resumed), (resumed, attempts)
            # each job's outputs recorded once, owned by its key, and no two jobs share one
            outputs = [o["artifactId"] for r in rows for o in r.outputs]
            assert len(outputs) == len(set(outputs))
            key_ids = {r.id: r.key_id for r in rows}
            owners = dict(db.rows("SELECT artifact_id, key_id FROM file_owners"))
            assert all(owners.get(o["artifactId"]) == key_ids[r.id] for r in rows for o in r.outputs)
            # ... and downloadable from either API node, as expected
            expected = {submitted[n]: w.outputs for n, w in works.items()}
            expected.update({job: w.outputs for job, w in zip(batch_jobs, batch_works, strict=True)})
            with ThreadPoolExecutor(4) as pool:
                checks = [
                    pool.submit(
                        check_job,
                        entrances["alpha" if key_ids[j] == keys["alpha"]["id"] else "beta"],
                        n,
                        j,
                        e,
                    )
                    for n, (j, e) in enumerate(expected.items())
                ]
                digests = {j: c.result() for j, c in zip(expected, checks, strict=True)}
            batch = entrances["alpha"].request("GET", f"/v1/batch/{batch_id}", prefer=1).json()
            assert batch["status"] == "completed" and batch["counts"]["completed"] == BATCH

            # every webhook event delivered; each job's terminal one once; redeliveries are copies
            by_id = webhooks_by_event(receiver, secrets)
            deliveries = db.rows("SELECT event_id, status, lease_owner, attempts FROM webhook_deliveries")
            assert {d.event_id for d in deliveries} == set(by_id)
            assert all(d.status == "delivered" and d.lease_owner is None for d in deliveries)
            assert cut and all(len(by_id[event]) >= 2 for event in cut), cut
            events = {event_id: copies[0].json() for event_id, copies in by_id.items()}
            per_job: dict[str, Counter[str]] = defaultdict(Counter)
            for event in events.values():
                if "jobId" in event:
                    per_job[event["jobId"]][event["event"]] += 1
            for job_id in key_ids:
                seen = per_job[job_id]
                assert sum(seen[t] for t in TERMINAL) == seen["job.completed"] == 1, (job_id, seen)
                assert seen["job.queued"] == 1 and seen["job.processing"] <= 1, (job_id, seen)
            completed = {e["jobId"]: e for e in events.values() if e["event"] == "job.completed"}
            for job_id, event in completed.items():
                links = event.get("outputs") or [event["output"]]
                assert len(links) == len(digests[job_id])
            batch_events = [e for e in events.values() if e["event"] == "batch.completed"]
            assert [(e["batchId"], e["counts"]["completed"]) for e in batch_events] == [(batch_id, BATCH)]
            batch_row = db.rows("SELECT finished_at FROM batches WHERE id = :id", id=batch_id)
            assert batch_row[0].finished_at is not None

            # the store: every output present; what killed attempts left, and what a sweep reclaims
            named = job_artifacts(rows)
            objects = store_objects(s3, "shared")
            assert set(outputs) <= objects["meta"]
            before = orphans(objects, named)
            store = S3Store(S3Settings.from_url(store_url), client=s3)
            store.sweep(now=time.time() + STALE_AFTER + 1)  # an hour on: the left-overs are stale
            objects = store_objects(s3, "shared")
            after = orphans(objects, named)
            assert set(outputs) <= objects["meta"]
            assert {d for ds in digests.values() for d in ds} <= objects["blobs"]
            assert after["references"] == after["blobs"] == 0, after
            left = sorted(f"{a.name} ({a.format})" for a in map(store.get, objects["meta"] - named))

            retried = sum(n > 1 for n in attempts.values())
            redelivered = sum(len(copies) - 1 for copies in by_id.values())
            failovers = sum(e.failovers for e in entrances.values())
            print(
                f"\nmany hosts: {total} jobs; boot {boot:.1f} s, all finished at {finished:.1f} s, "
                f"webhooks delivered at {delivered:.1f} s, wall {time.monotonic() - started:.1f} s; "
                f"{victim.name} killed holding {len(resumed)} jobs, {retried} jobs ran more than once; "
                f"{len(cut)} deliveries cut by the API node's kill, {redelivered} redeliveries, "
                f"{failovers} requests sent again to the other node; {len(by_id)} events; "
                f"orphans before a sweep {before}, after {after}: {left}"
            )
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            gate.open()
            for entrance in entrances.values():
                entrance.close()
            receiver.close()
            db.close()
