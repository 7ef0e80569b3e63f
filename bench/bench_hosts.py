"""Many hosts: the 100-job batch on PostgreSQL + S3 against SQLite + a filesystem store, job
submission and claim-after-NOTIFY latency, and throughput with 1, 2 and 4 ``conversio worker``
processes, with the database statements and S3 requests each job costs.

    python -m bench.bench_hosts [--rounds 3] [--jobs 100] [--samples 30] [--scale-jobs 40]

Every deployment is an API node (``conversio serve --dev`` with no job worker of its own) and
``conversio worker`` processes, all started from this interpreter on 127.0.0.1. On PostgreSQL + S3
(a PostgreSQL cluster of its own, moto's S3 server in its own process) every process has a data
folder of its own, as on hosts of their own; SQLite + filesystem is one host's, so its workers use
the API node's data folder. Result cache off. Skipped, with a message, where PostgreSQL, psycopg, moto
or the S3 plugin is not installed.

Goals (issue 19): batch throughput on PostgreSQL + S3 ≥ 0.85× SQLite + filesystem; ``POST /v1/jobs``
p50 < 20 ms; claim after a NOTIFY p50 < 10 ms; 2 workers ≥ 1.7× the throughput of 1 on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx

from bench.bench_jobs import KINDS, Receiver, percentile, wait_batch
from bench.bench_pdf import vector_pdf
from bench.bench_server import sample_png
from bench.common import median_of, write_report
from bench.counting import cpu_seconds
from bench.deployment import S3_SERVERS, SQLITE, Backend, Deployment, postgres_and_s3, postgres_missing

#: What the scaling runs convert: a photo-like PNG 1200×900 (1.4 MB) to WebP, each job at a width
#: of its own, counting down from 1199 px (so no two results are alike and the store uploads each).
SCALE_JOB = "PNG 1200×900 → WebP, resized (each job to another width under 1200 px)"
#: The worker counts of the scaling runs, in order (each count is run twice: noise drifts).
LEVELS = (1, 2, 4, 2, 1)
#: Seconds between hosts on a LAN that the projection assumes for one database round trip.
ROUND_TRIP = 0.0005
#: The parts of a deployment whose CPU time is reported, in this order.
PARTS = ("workers", "API node", "PostgreSQL", "S3 server")
#: Seconds a job or a batch may take before the benchmark gives up.
TIMEOUT = 300.0


@attrs.frozen
class Side:
    """One deployment in the comparison: the batch's seconds (median), the CPU seconds per job of each
    part of the deployment in the batch, and the latencies of single submissions."""

    seconds: float
    cpu: dict[str, float]
    submissions: list[float]


@attrs.frozen
class Claims:
    """Jobs queued one at a time for idle workers: the latencies of their submissions, and from each
    submission's commit to the start of the claim that took it, and to that claim's commit."""

    submissions: list[float]
    began: list[float]
    claimed: list[float]


@attrs.frozen
class Level:
    """One scaling run: ``workers`` processes took ``seconds`` for ``jobs`` jobs, the database ran
    ``statements`` (by kind) meanwhile, and each part of the deployment used ``cpu`` seconds."""

    workers: int
    jobs: int
    seconds: float
    statements: Counter[str]
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--scale-jobs", type=int, default=40)
    parser.add_argument(
        "--s3-server",
        choices=sorted(S3_SERVERS),
        default="moto",
        help="the local S3 server: moto (counts the requests) or SeaweedFS (a real object server)",
    )
    args = parser.parse_args(argv)
    missing = postgres_missing()
    if missing is not None:
        print(f"bench_hosts: skipped: {missing}")
        return
    work = Path(tempfile.mkdtemp(prefix="bench-hosts-"))
    inputs = {"photo.png": work / "photo.png", "report.pdf": work / "report.pdf"}
    inputs["photo.png"].write_bytes(sample_png((1200, 900)))
    vector_pdf(inputs["report.pdf"], 3, seed=7)
    receiver = Receiver()
    try:
        with postgres_and_s3(work, args.s3_server) as backend, deployed(backend, work) as postgres:
            with deployed(SQLITE, work) as sqlite:
                sides = compare({SQLITE.name: sqlite, backend.name: postgres}, inputs, receiver, args)
            photo = upload(postgres, {"photo.png": inputs["photo.png"]})["photo.png"]
            claims = claim_after_notify(postgres, backend, photo, args.samples)
            levels, requests, counted = scale(postgres, backend, receiver, photo, args.scale_jobs)
    finally:
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)
    report(args, backend.name, sides, claims, levels, (requests, counted))


@contextlib.contextmanager
def deployed(backend: Backend, work: Path) -> Iterator[Deployment]:
    deployment = Deployment(backend, work)
    try:
        yield deployment
    finally:
        deployment.close()


def upload(deployment: Deployment, inputs: dict[str, Path]) -> dict[str, str]:
    """Store the inputs through the API node; their file ids by name."""
    ids = {}
    with httpx.Client(base_url=deployment.base, timeout=60) as client:
        for name, path in inputs.items():
            with path.open("rb") as handle:
                reply = client.post("/v1/files", files={"file": (name, handle)})
            reply.raise_for_status()
            ids[name] = reply.json()["files"][0]["id"]
    return ids


def run_batch(base: str, specs: list[dict[str, Any]], receiver: Receiver) -> None:
    """Submit ``specs`` as one batch and wait for its ``batch.completed`` webhook."""
    body = {"jobs": specs, "webhook": receiver.url, "callbackMode": "batch"}
    reply = httpx.post(f"{base}/v1/batch", json=body, timeout=60)
    reply.raise_for_status()
    wait_batch(receiver, reply.json()["batchId"], TIMEOUT)


def compare(
    deployments: dict[str, Deployment], inputs: dict[str, Path], receiver: Receiver, args: argparse.Namespace
) -> dict[str, Side]:
    """The batch on each deployment, with one worker per core (each running up to its
    ``job_concurrency`` jobs at once), in interleaved rounds; then single submissions."""
    cores = os.cpu_count() or 1
    runs: dict[str, Callable[[], object]] = {}
    specs: dict[str, list[dict[str, Any]]] = {}
    spent: dict[str, dict[str, float]] = {}
    for name, deployment in deployments.items():
        deployment.add_workers(cores)
        ids = upload(deployment, inputs)
        mix = [KINDS[i % len(KINDS)] for i in range(args.jobs)]
        specs[name] = [{"inputs": [{"fileId": ids[src]}], "outputFormat": to} for _, src, to in mix]
        run_batch(deployment.base, specs[name], receiver)  # warm the workers' conversions and plugins
        spent[name] = {}
        runs[name] = functools.partial(metered, deployment, specs[name], receiver, spent[name])
    times = median_of(runs, args.rounds)
    return {
        name: Side(
            times[name],
            {part: seconds / (args.rounds * args.jobs) for part, seconds in spent[name].items()},
            submit_singly(deployments[name], specs[name], receiver),
        )
        for name in deployments
    }


def metered(
    deployment: Deployment, specs: list[dict[str, Any]], receiver: Receiver, spent: dict[str, float]
) -> None:
    """:func:`run_batch` on ``deployment``, adding the CPU seconds each of its parts used to ``spent``."""
    parts = deployment.processes()
    before = cpu_seconds(parts)
    run_batch(deployment.base, specs, receiver)
    for part, seconds in cpu_seconds(parts).items():
        spent[part] = spent.get(part, 0.0) + seconds - before[part]


def submit_singly(deployment: Deployment, specs: list[dict[str, Any]], receiver: Receiver) -> list[float]:
    """``POST /v1/jobs`` of each spec (with a webhook) one after the other, while the workers run the
    earlier ones; the latencies, once every job has completed."""
    latencies, ids = [], []
    with httpx.Client(base_url=deployment.base, timeout=60) as client:
        for spec in specs:
            began = time.perf_counter()
            reply = client.post("/v1/jobs", json={**spec, "webhook": receiver.url})
            latencies.append(time.perf_counter() - began)
            assert reply.status_code == 202, reply.text
            ids.append(reply.json()["jobId"])
    wait_completed(receiver, ids)
    return latencies


def wait_completed(receiver: Receiver, job_ids: list[str]) -> None:
    """Until the ``job.completed`` webhook of each job has arrived."""
    wanted = set(job_ids)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with receiver.lock:
            done = {p["jobId"] for _, p in receiver.arrivals if p["event"] == "job.completed"}
        if wanted <= done:
            return
        time.sleep(0.01)
    raise RuntimeError(f"{len(wanted - done)} jobs did not complete within {TIMEOUT:.0f} s")


def claim_after_notify(deployment: Deployment, backend: Backend, photo: str, samples: int) -> Claims:
    """Queue ``samples`` jobs (PNG → JPEG) one at a time on the API node while the workers (other
    "hosts") are idle, each once the one before has finished; commit times from PostgreSQL
    (:class:`~bench.counting.Commits`), claim starts from the jobs' ``started_at``."""
    import sqlalchemy as sa

    assert backend.database_url is not None and backend.commits is not None
    engine = sa.create_engine(sa.engine.make_url(backend.database_url))
    spec = {"inputs": [{"fileId": photo}], "outputFormat": "jpg"}
    started, submissions = {}, []
    try:
        with backend.commits.watching() as log, httpx.Client(base_url=deployment.base, timeout=60) as client:
            for _ in range(samples):
                sent = time.perf_counter()
                reply = client.post("/v1/jobs", json=spec)
                submissions.append(time.perf_counter() - sent)
                assert reply.status_code == 202, reply.text
                job_id = reply.json()["jobId"]
                started[job_id] = _finished(engine, job_id)
            commits = log.of(list(started))
    finally:
        engine.dispose()
    return Claims(
        submissions,
        [begun - c.queued for begun, c in zip(started.values(), commits, strict=True)],
        [c.claimed - c.queued for c in commits if c.claimed is not None],
    )


def _finished(engine: Any, job_id: str) -> float:
    """Wait until ``job_id`` has finished; its ``started_at``."""
    import sqlalchemy as sa

    query = sa.text("SELECT started_at, finished_at FROM jobs WHERE id = :id").bindparams(id=job_id)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        with engine.connect() as db:
            started, finished = db.execute(query).one()
        if finished is not None:
            return float(started)
        time.sleep(0.005)
    raise RuntimeError(f"job {job_id} did not finish within {TIMEOUT:.0f} s")


def scale(
    deployment: Deployment, backend: Backend, receiver: Receiver, photo: str, jobs: int
) -> tuple[list[Level], Counter[str] | None, Level]:
    """Batches of ``jobs`` scaling jobs with 1, 2, 4, 2, then 1 worker processes, each running one
    job at a time; then, with one worker, a counted batch (S3 requests recorded by the server, when
    it records them)."""
    statements, recorder = backend.statements, backend.requests
    assert statements is not None
    widths = itertools.count(1199, -1)

    def specs(count: int) -> list[dict[str, Any]]:
        return [
            {"inputs": [{"fileId": photo}], "outputFormat": "webp", "options": {"width": next(widths)}}
            for _ in range(count)
        ]

    def timed_batch(count: int) -> Level:
        before, spent = statements.snapshot(), dict[str, float]()
        began = time.perf_counter()
        metered(deployment, specs(count), receiver, spent)
        seconds = time.perf_counter() - began
        return Level(len(deployment.workers), count, seconds, statements.snapshot() - before, spent)

    deployment.stop_workers(len(deployment.workers))
    levels = []
    for count in LEVELS:
        if count > len(deployment.workers):
            deployment.add_workers(count - len(deployment.workers), job_concurrency="1")
            run_batch(deployment.base, specs(2 * count), receiver)  # warm the new workers
        else:
            deployment.stop_workers(len(deployment.workers) - count)
        levels.append(timed_batch(jobs))
    if recorder is None:
        return levels, None, timed_batch(jobs // 3)
    with recorder.recording() as requests:
        counted = timed_batch(jobs // 3)
    return levels, requests, counted


def report(
    args: argparse.Namespace,
    remote: str,
    sides: dict[str, Side],
    claims: Claims,
    levels: list[Level],
    counted: tuple[Counter[str] | None, Level],
) -> None:
    local = SQLITE.name
    throughput = {name: args.jobs / side.seconds for name, side in sides.items()}
    rates = {n: [lv.rate for lv in levels if lv.workers == n] for n in sorted(set(LEVELS))}
    rate = {n: statistics.mean(values) for n, values in rates.items()}
    rows = [
        [
            f"{args.jobs}-job batch (jobs/s)",
            f"{throughput[local]:.1f}",
            f"{throughput[remote]:.1f}",
            f"{throughput[remote] / throughput[local]:.2f}×",
            "≥ 0.85×",
        ],
        [
            "`POST /v1/jobs` while the workers are busy, p50 / p90 (ms)",
            _ms(sides[local].submissions),
            _ms(sides[remote].submissions),
            "—",
            "p50 < 20 ms",
        ],
        ["`POST /v1/jobs` to idle workers, p50 / p90 (ms)", "—", _ms(claims.submissions), "—", "p50 < 20 ms"],
        ["submission commit → claim begins, p50 / p90 (ms)", "—", _ms(claims.began), "—", "—"],
        ["submission commit → claim commit, p50 / p90 (ms)", "—", _ms(claims.claimed), "—", "p50 < 10 ms"],
    ]
    for n, value in rate.items():
        each = " and ".join(f"{v:.2f}" for v in rates[n])
        goal = "≥ 1.7×" if n == 2 else "—"
        rows.append(
            [
                f"{n} worker(s), {SCALE_JOB} (jobs/s)",
                "—",
                f"{value:.2f} ({each})",
                f"{value / rate[1]:.2f}×",
                goal,
            ]
        )
    write_report(
        "hosts" if args.s3_server == "moto" else f"hosts-{args.s3_server}",
        f"Many hosts: {remote} against {local}, claim latency, scaling with workers",
        ["measure", local, remote, "ratio", "goal"],
        rows,
        _setup(args, sides) + _scaling(levels) + _per_job(*counted) + _projection(levels, *counted),
    )


def _ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):.1f} / {1000 * percentile(values, 0.9):.1f}"


def _setup(args: argparse.Namespace, sides: dict[str, Side]) -> list[str]:
    from conversio_server.settings import ServerSettings

    cores, defaults = os.cpu_count(), attrs.fields(ServerSettings)
    cpu = "; ".join(
        f"{name}: " + " · ".join(f"{part} {1000 * side.cpu[part]:.0f}" for part in PARTS if part in side.cpu)
        for name, side in sides.items()
    )
    return [
        f"Batch: median of {args.rounds} interleaved rounds after one warm-up each, the mix of bench_jobs"
        " (" + "; ".join(k[0] for k in KINDS) + "), timed from its submission until its `batch.completed`"
        f" webhook arrives. Each deployment: an API node and {cores} `conversio worker` processes (up to"
        f" {defaults.job_concurrency.default} jobs at once each, as `conversio serve` would run them); on"
        " PostgreSQL + S3 each process has a data folder of its own, on SQLite + filesystem the workers"
        " share the API node's. CPU ms per job in the batch (each part's processes and their children):"
        f" {cpu}.",
        f"Submission while the workers are busy: {args.jobs} single `POST /v1/jobs` (with a webhook) one"
        " after the other, while the workers run the earlier ones (on the same cores); to idle workers:"
        " those of the claims below.",
        f"Claim after NOTIFY: {args.samples} jobs (PNG → JPEG) queued one at a time on the API node, each"
        " once the one before has finished, the workers idle (they poll every"
        f" {defaults.job_poll_interval.default:g} s, so a claim within milliseconds is the NOTIFY's"
        " doing). From the commit of the job's submission to the start of the claim that takes it (the"
        " job's `started_at`: the worker's clock as it begins to claim), and to the commit of that claim;"
        " commit times are PostgreSQL's own (logical decoding with timestamps), on the same clock.",
        "",
    ]


def _scaling(levels: list[Level]) -> list[str]:
    lines = [
        f"Scaling: {SCALE_JOB}, batches with {', '.join(map(str, LEVELS))} `conversio worker` processes"
        " (each runs one job at a time: `job_concurrency` 1), new workers warmed up first; the ratio is"
        " of the means. Database statements counted by PostgreSQL (`pg_stat_statements`; psycopg sends"
        " each statement, `BEGIN` and `COMMIT` included, as a round trip of its own); CPU time of each"
        " part's processes and their children (the workers' conversion processes, PostgreSQL's backends).",
        "",
        "| workers | jobs | seconds | jobs/s | DB statements / job | DB transactions / job | CPU ms / job: "
        + " · ".join(PARTS)
        + " |",
        "|---|---|---|---|---|---|---|",
    ]
    for lv in levels:
        n = lv.jobs
        cpu = " · ".join(f"{1000 * lv.cpu.get(part, 0.0) / n:.0f}" for part in PARTS)
        lines.append(
            f"| {lv.workers} | {n} | {lv.seconds:.2f} | {lv.rate:.2f} | {lv.statements.total() / n:.1f}"
            f" | {lv.statements['BEGIN'] / n:.1f} | {cpu} |"
        )
    return [*lines, ""]


def _per_job(recorded: Counter[str] | None, level: Level) -> list[str]:
    requests = Counter[str]() if recorded is None else recorded
    lines = [
        f"Per job, with one worker ({level.jobs} jobs): database statements by kind, and the S3 requests"
        " the S3 server recorded, from every process"
        + (" (SeaweedFS records none: `--s3-server moto` counts them)." if recorded is None else "."),
        "",
        "| database statement | per job | S3 request | per job |",
        "|---|---|---|---|",
    ]
    db, s3 = level.statements.most_common(), requests.most_common()
    for i in range(max(len(db), len(s3))):
        left = [db[i][0], f"{db[i][1] / level.jobs:.2f}"] if i < len(db) else ["", ""]
        right = [s3[i][0], f"{s3[i][1] / level.jobs:.2f}"] if i < len(s3) else ["", ""]
        lines.append("| " + " | ".join(left + right) + " |")
    total_db, total_s3 = level.statements.total() / level.jobs, requests.total() / level.jobs
    return [*lines, f"| total | {total_db:.1f} | total | {total_s3:.1f} |", ""]


def _projection(levels: list[Level], recorded: Counter[str] | None, level: Level) -> list[str]:
    """What would limit more workers on more hosts, from what a job costs each part."""
    s3 = "" if recorded is None else f" and {recorded.total() / level.jobs:.0f} S3 requests"
    alone = [lv for lv in levels if lv.workers == 1]
    cpu = {part: statistics.mean(lv.cpu.get(part, 0.0) / lv.jobs for lv in alone) for part in PARTS}
    job = statistics.mean(lv.seconds / lv.jobs for lv in alone)
    trips = level.statements.total() / level.jobs
    delay = ROUND_TRIP * trips  # seconds the round trips add to each job
    most = max(LEVELS)
    crowded = statistics.mean(lv.statements.total() / lv.jobs for lv in levels if lv.workers == most)
    cores = os.cpu_count() or 1
    return [
        f"Projection: a job costs {trips:.0f} database round trips{s3}"
        f" (with {most} workers, {crowded:.0f} statements), and CPU:"
        f" {1000 * cpu['workers']:.0f} ms in the worker (its conversion included),"
        f" {1000 * cpu['API node']:.0f} ms in the API node, {1000 * cpu['PostgreSQL']:.1f} ms in PostgreSQL,"
        f" {1000 * cpu['S3 server']:.0f} ms in the S3 server. With workers on hosts of their own,"
        f" each worker core adds up to {1 / cpu['workers']:.1f} jobs/s, and one PostgreSQL core would run"
        f" out near {1 / cpu['PostgreSQL']:.0f} jobs/s, the work of about"
        f" {cpu['workers'] / cpu['PostgreSQL']:.0f} worker cores. Here every part shares {cores} cores:"
        f" no number of workers passes {cores / sum(cpu.values()):.1f} jobs/s. At"
        f" {1000 * ROUND_TRIP:.1f} ms between hosts the round trips add {1000 * delay:.0f} ms to each"
        f" job ({100 * delay / job:.0f}% of the {1000 * job:.0f} ms a job takes one worker here).",
    ]


if __name__ == "__main__":
    main()
