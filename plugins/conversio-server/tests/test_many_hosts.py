"""Many hosts for real: two API nodes and three workers, each a process with a data folder of its own,
sharing nothing but a PostgreSQL database and an S3 server. 200 jobs (a batch among them) go in
through both API nodes with real API keys; mid-run an API node is killed (``kill -9``) while it is
sending webhooks, and so is a worker running jobs; both are started again. Every job completes
exactly once, its outputs recorded once, present in the store and downloadable; every webhook event
is delivered, each job's terminal event once (a delivery the kill cut off arrives again, with the same
id and a valid signature); the database and the store are left consistent."""

from __future__ import annotations

import base64
import hashlib
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
from cluster_support import Cluster, Entrances, Gate, Node, create_key, local_ports
from cluster_workload import Expected, Work, check_output, image_job, workload
from conftest import needs
from jobs_support.receiver import Receiver

from conversio.webhooks import verify_webhook

needs("image", "pdf", "office", "s3")

#: Jobs sent one by one: images, PDF operations, Word documents to PDF; and the batch's (images).
IMAGES, PDFS, DOCS, BATCH = 152, 24, 4, 20
KEYS = ("alpha", "beta")
TERMINAL = ("job.completed", "job.failed", "job.cancelled")
BUCKET, PREFIX = "cluster", "shared"
#: What every node is told besides its flags: short job leases, so that a killed worker's jobs go back
#: to the queue within seconds; webhooks and input URLs may reach 127.0.0.1.
NODE_SETTINGS = {
    "CONVERSIO_SERVER_URL_ALLOW": "127.0.0.1",
    "CONVERSIO_SERVER_WORKERS": "1",
    "CONVERSIO_SERVER_JOB_LEASE": "3",
    "CONVERSIO_SERVER_JOB_HEARTBEAT": "0.5",
    "CONVERSIO_SERVER_JOB_POLL_INTERVAL": "1",
}
#: A worker's flags besides its host name: two jobs at once (two cores here), a short drain at the end.
WORKER_FLAGS = ("--concurrency", "2", "--drain-timeout", "5")


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

    def registered(self, worker: Node) -> bool:
        """Whether the worker process ``worker`` is in the workers table (it is about to claim jobs)."""
        found = "SELECT count(*) FROM workers WHERE host = :host AND pid = :pid"
        try:
            return bool(self.value(found, host=worker.name, pid=worker.pid))
        except sa.exc.ProgrammingError:  # no workers table yet: nothing has migrated the database
            return False


@attrs.define
class Run:
    """What the run did: each job's key and expected outputs, the batch, what the kills cut off."""

    keys: dict[str, dict[str, Any]]
    key_of: dict[str, str] = attrs.field(factory=dict)
    expected: dict[str, tuple[Expected, ...]] = attrs.field(factory=dict)
    batch_id: str = ""
    #: the event ids whose delivery the API node's kill cut off
    cut: set[str] = attrs.field(factory=set)
    #: the worker killed, and the jobs it was running
    victim: str = ""
    resumed: set[str] = attrs.field(factory=set)
    #: submissions answered from an earlier one with the same idempotency key (a node that had
    #: created the job died before answering, and the other node answered)
    replayed: int = 0
    times: dict[str, float] = attrs.field(factory=dict)


def kill_while_sending_webhooks(cluster: Cluster, node: Node, gate: Gate) -> set[str]:
    """Hold the webhook receiver's answers until ``node`` has deliveries in flight, ``kill -9`` it,
    let the answers go, and start it again; returns the event ids whose delivery the kill cut off."""
    gate.close()
    try:
        gate.wait_held(lambda held: bool({r.port for r in held} & local_ports(node.pid)))
        ports = local_ports(node.pid)
        node.kill()
        time.sleep(0.5)  # what it had sent before it died reaches the receiver, and is held too
        cut = {r.headers["webhook-id"] for r in gate.held if r.port in ports}
    finally:
        gate.open()
    cluster.restart(node)
    return cut


def kill_a_busy_worker(cluster: Cluster, db: Database) -> tuple[Node, set[str]]:
    """``kill -9`` a worker while it runs jobs, and start it again; returns it and the jobs it held."""
    hosts = {node.name: node for node in cluster.workers}
    running = (
        "SELECT jobs.id, workers.host FROM jobs JOIN workers ON workers.name = jobs.lease_owner"
        " WHERE jobs.status = 'processing'"
    )
    deadline = time.monotonic() + 60
    while not (busy := db.rows(running)):
        assert time.monotonic() < deadline, "no worker ran a job within 60 s"
        time.sleep(0.01)
    worker = hosts[busy[0].host]
    worker.kill()
    held = db.rows(f"{running} AND workers.host = :host", host=worker.name)
    cluster.restart(worker)
    return worker, {row.id for row in held}


def submit_all(works: dict[int, Work], entrances: dict[str, Entrances], hook: str, run: Run) -> None:
    """Submit ``works`` one by one, each with an idempotency key (sent again to the other node when a
    node does not answer), by turns through each API node, under the key of its number's parity."""
    for n, work in works.items():
        key = KEYS[n % 2]
        reply = entrances[key].request(
            "POST",
            "/v1/jobs",
            prefer=(n // 2) % 2,
            json={**work.request, "webhook": f"{hook}/hook/{key}"},
            headers={"Idempotency-Key": f"work-{n}"},
        )
        assert reply.status_code == 202, reply.text
        run.replayed += reply.headers.get("Idempotent-Replayed") == "true"
        job_id = reply.json()["jobId"]
        run.key_of[job_id], run.expected[job_id] = key, work.outputs


def uploaded(entrances: Entrances, work: Work) -> dict[str, Any]:
    """``work``'s request with its input uploaded through the second API node (``POST /v1/files``)."""
    (source,) = work.request["inputs"]
    content = base64.b64decode(source["base64"])
    reply = entrances.request("POST", "/v1/files", prefer=1, files={"file": (source["name"], content)})
    assert reply.status_code in (200, 201), reply.text
    return {**work.request, "inputs": [{"fileId": reply.json()["files"][0]["id"]}]}


def drive(
    cluster: Cluster, entrances: dict[str, Entrances], db: Database, hook: str, gate: Gate, run: Run
) -> None:
    """Submit the jobs through both API nodes, killing one of them and a worker a third of the way, then
    the batch through the first (its inputs uploaded through the second); wait until every job has
    finished and every webhook is delivered."""
    works = dict(enumerate(workload(IMAGES, PDFS, DOCS)))
    with ThreadPoolExecutor(2) as pool:
        halves = [{n: w for n, w in works.items() if n % 2 == side} for side in (0, 1)]
        sending = [pool.submit(submit_all, half, entrances, hook, run) for half in halves]
        wait_until(lambda: len(run.expected) >= len(works) // 3, "a third of the jobs submitted", 120)
        victim, run.resumed = kill_a_busy_worker(cluster, db)  # first, while jobs still arrive
        run.victim = victim.name
        run.cut = kill_while_sending_webhooks(cluster, cluster.apis[0], gate)
        for future in sending:
            future.result(timeout=240)
    batch_works = [image_job(1000 + n) for n in range(BATCH)]
    reply = entrances[KEYS[0]].request(
        "POST",
        "/v1/batch",
        json={
            "jobs": [uploaded(entrances[KEYS[0]], w) for w in batch_works],
            "webhook": f"{hook}/batch/{KEYS[0]}",
            "callbackMode": "both",
        },
    )
    assert reply.status_code == 202, reply.text
    run.batch_id = reply.json()["batchId"]
    for job, work in zip(reply.json()["jobs"], batch_works, strict=True):
        run.key_of[job["jobId"]], run.expected[job["jobId"]] = KEYS[0], work.outputs
    finished = "SELECT count(*) FROM jobs WHERE status IN ('completed', 'failed', 'cancelled')"
    wait_until(lambda: db.value(finished) == len(run.expected), "every job finished", 180)
    run.times["finished"] = time.monotonic()
    pending = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
    wait_until(lambda: db.value(pending) == 0, "every webhook delivered", 120)  # cut leases: 60 s
    run.times["delivered"] = time.monotonic()


def check_jobs(db: Database, run: Run) -> list[Any]:
    """Every job completed once: one per idempotency key, no lease left, its outputs recorded once and
    owned by its key, none shared with another job; the jobs the killed worker ran, run again."""
    rows = db.rows("SELECT * FROM jobs")
    assert {r.id for r in rows} == set(run.expected)
    unfinished = [(r.id, r.status, r.attempts, r.error, r.steps) for r in rows if r.status != "completed"]
    assert not unfinished, unfinished
    assert sorted(r.idempotency_key for r in rows if r.batch_id is None) == sorted(
        f"work-{n}" for n in range(IMAGES + PDFS + DOCS)
    )
    assert all(r.lease_expires is None and r.finished_at for r in rows)
    assert run.resumed and all(r.attempts >= 2 for r in rows if r.id in run.resumed), run.resumed
    outputs = [o["artifactId"] for r in rows for o in r.outputs]
    assert len(outputs) == len(set(outputs))
    owners = dict(db.rows("SELECT artifact_id, key_id FROM file_owners"))
    key_ids = {name: key["id"] for name, key in run.keys.items()}
    assert all(owners.get(o["artifactId"]) == key_ids[run.key_of[r.id]] for r in rows for o in r.outputs)
    batch = db.rows("SELECT finished_at FROM batches WHERE id = :id", id=run.batch_id)
    assert batch[0].finished_at is not None
    return rows


def check_outputs(entrances: Entrances, turn: int, job_id: str, expected: tuple[Expected, ...]) -> list[str]:
    """The job as an API node shows it: complete with its outputs, each downloadable (signed link, no
    key) and as expected; returns the outputs' sha256."""
    job = entrances.request("GET", f"/v1/jobs/{job_id}", prefer=turn).json()
    assert job["status"] == "completed", job
    assert len(job["outputs"]) == len(expected), (job["outputs"], expected)
    digests = []
    for output, want in zip(job["outputs"], expected, strict=True):
        download = httpx.get(output["downloadUrl"], timeout=30)
        assert download.status_code == 200, (output, download.text)
        check_output(download.content, want)
        assert hashlib.sha256(download.content).hexdigest() == output["sha256"]
        digests.append(output["sha256"])
    return digests


def check_webhooks(
    receiver: Receiver, db: Database, run: Run, digests: dict[str, list[str]]
) -> dict[str, int]:
    """Every event delivered, signed with its key's secret, each copy of an event the same body; each job
    has one terminal event (completed, with links to its outputs that the worker signed), the batch its
    ``batch.completed``; the deliveries the kill cut off arrived again. Returns the copies of each event."""
    secrets = {name: key["webhookSecret"] for name, key in run.keys.items()}
    copies: dict[str, list[Any]] = defaultdict(list)
    for received in receiver.matching(lambda r: r.method == "POST"):
        verify_webhook(received.body, received.headers, secrets[received.path.rsplit("/", 1)[-1]])
        copies[received.headers["webhook-id"]].append(received)
    assert all(len({c.body for c in same}) == 1 for same in copies.values())
    deliveries = db.rows("SELECT event_id, status, lease_owner FROM webhook_deliveries")
    assert {d.event_id for d in deliveries} == set(copies)
    assert all(d.status == "delivered" and d.lease_owner is None for d in deliveries)
    assert run.cut and all(len(copies[event]) >= 2 for event in run.cut), run.cut
    events = [same[0].json() for same in copies.values()]
    per_job: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if "jobId" in event:
            per_job[event["jobId"]][event["event"]] += 1
    for job_id in run.expected:
        seen = per_job[job_id]
        assert sum(seen[t] for t in TERMINAL) == seen["job.completed"] == 1, (job_id, seen)
        assert seen["job.queued"] == 1 and seen["job.processing"] <= 1, (job_id, seen)
    links = [(e["jobId"], e.get("outputs") or [e["output"]]) for e in events if e["event"] == "job.completed"]
    assert all(len(outputs) == len(digests[job_id]) for job_id, outputs in links)
    for job_id, outputs in links[:: max(1, len(links) // 20)]:  # a sample: the links work
        assert (
            hashlib.sha256(httpx.get(outputs[0]["url"], timeout=30).content).hexdigest() == digests[job_id][0]
        )
    batch = [(e["batchId"], e["counts"]["completed"]) for e in events if e["event"] == "batch.completed"]
    assert batch == [(run.batch_id, BATCH)]
    return {event_id: len(same) for event_id, same in copies.items()}


def check_fleet(cluster: Cluster, db: Database) -> None:
    """One live worker a host in the workers table and in ``/metrics`` on either API node (the killed
    worker's row no longer counts), nothing queued or running."""
    live = db.rows("SELECT host FROM workers WHERE expires_at > :now", now=time.time())
    assert sorted(row.host for row in live) == sorted(node.name for node in cluster.workers)
    for api in cluster.apis:
        lines = set(httpx.get(f"{api.url}/metrics", timeout=30).text.splitlines())
        counts = {f'conversio_job_workers{{host="{node.name}"}} 1.0' for node in cluster.workers}
        assert counts | {"conversio_jobs_queued 0.0", "conversio_jobs_processing 0.0"} <= lines, lines


def store_objects(s3: Any) -> dict[str, set[str]]:
    """The store's objects by kind: ``meta`` (artifact ids), ``refs`` (``sha/id``), ``blobs`` (sha)."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + "/"):
        for item in page.get("Contents", []):
            kind, *rest = item["Key"][len(PREFIX) + 1 :].split("/")
            name = "/".join(rest[:2]) if kind == "refs" else rest[-1]  # refs/<sha>/<id>[/<record>]
            kinds[kind].add(name.removesuffix(".json"))
    return kinds


def orphans(objects: dict[str, set[str]], named: set[str]) -> dict[str, int]:
    """Artifacts no job names, references without metadata, blobs without references."""
    referenced = {ref.split("/")[0] for ref in objects["refs"]}
    return {
        "artifacts": len(objects["meta"] - named),
        "references": sum(ref.split("/")[1] not in objects["meta"] for ref in objects["refs"]),
        "blobs": len(objects["blobs"] - referenced),
    }


def check_store(s3: Any, store_url: str, rows: list[Any], digests: dict[str, list[str]]) -> dict[str, Any]:
    """Every output in the store; what killed attempts left before a sweep an hour on, and after it (no
    reference without its artifact, no blob without a reference; the outputs still there)."""
    from conversio_s3.settings import S3Settings
    from conversio_s3.store import STALE_AFTER, S3Store

    outputs = {o["artifactId"] for r in rows for o in r.outputs}
    named = outputs | {i for r in rows for i in r.spec["inputs"]}
    named |= {a for r in rows for step in r.steps for a in step.get("artifacts", ())}
    objects = store_objects(s3)
    assert outputs <= objects["meta"]
    before = orphans(objects, named)
    store = S3Store(S3Settings.from_url(store_url), client=s3)
    store.sweep(now=time.time() + STALE_AFTER + 1)
    objects = store_objects(s3)
    after = orphans(objects, named)
    assert outputs <= objects["meta"] and {d for ds in digests.values() for d in ds} <= objects["blobs"]
    assert after["references"] == after["blobs"] == 0, after
    left = sorted(f"{a.name} ({a.format})" for a in map(store.get, objects["meta"] - named))
    return {"before a sweep": before, "after": after, "left": left}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_two_api_nodes_and_three_workers_survive_kills(tmp_path: Path, postgres_url: str) -> None:
    import boto3
    from conversio_s3.testing import local_s3_buckets

    started = time.monotonic()
    gate = Gate()
    receiver = Receiver(answer=gate)
    db = Database(postgres_url)
    entrances: dict[str, Entrances] = {}
    with local_s3_buckets(BUCKET) as endpoint:  # the test credentials in the environment meanwhile
        s3 = boto3.client("s3", endpoint_url=endpoint)
        store_url = f"s3://{BUCKET}/{PREFIX}?endpoint={endpoint}&path_style=1"
        cluster = Cluster(tmp_path, postgres_url, store_url, NODE_SETTINGS, db.registered)
        try:
            run = Run({KEYS[0]: create_key(postgres_url, KEYS[0])})
            api = [cluster.api("api-a"), cluster.api("api-b")]
            flags = ("--public-url", str(api[0].url), *WORKER_FLAGS)  # the links in webhooks: api-a's
            cluster.start(*api, *(cluster.worker(f"worker-{n}", *flags) for n in range(3)))
            run.keys[KEYS[1]] = create_key(postgres_url, KEYS[1])  # while the API nodes run
            run.times["booted"] = time.monotonic()
            entrances.update({name: Entrances(api, key["key"]) for name, key in run.keys.items()})
            drive(cluster, entrances, db, receiver.url, gate, run)

            rows = check_jobs(db, run)
            with ThreadPoolExecutor(4) as pool:
                checks = {
                    job_id: pool.submit(check_outputs, entrances[run.key_of[job_id]], n, job_id, expected)
                    for n, (job_id, expected) in enumerate(run.expected.items())
                }
                digests = {job_id: check.result() for job_id, check in checks.items()}
            copies = check_webhooks(receiver, db, run, digests)
            store = check_store(s3, store_url, rows, digests)
            check_fleet(cluster, db)
            # SIGTERM: the workers drain and exit 0; uvicorn ends by raising the signal again, as
            # service managers expect (a stop, not a failure); none needs a SIGKILL
            stopped = cluster.close()
            expected = {node.name: -signal.SIGTERM if node.url else 0 for node in cluster.nodes}
            assert stopped == expected, (stopped, cluster.logs())

            times = ", ".join(f"{what} at {moment - started:.0f} s" for what, moment in run.times.items())
            print(
                f"\nmany hosts: {len(rows)} jobs; {times}; wall {time.monotonic() - started:.0f} s; "
                f"{run.victim} killed running {len(run.resumed)} jobs; "
                f"{sum(r.attempts > 1 for r in rows)} jobs ran more than once; "
                f"{sum(e.failovers for e in entrances.values())} requests sent to the other API node, "
                f"{run.replayed} of them answered as replays; "
                f"{len(copies)} webhook events, {len(run.cut)} deliveries cut by the API node's kill, "
                f"{sum(copies.values()) - len(copies)} sent again; orphans {store}"
            )
        except BaseException:
            print(cluster.logs())
            raise
        finally:
            gate.open()
            cluster.close()
            for entrance in entrances.values():
                entrance.close()
            receiver.close()
            db.close()
