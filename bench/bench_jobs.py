"""Asynchronous jobs: a 100-job batch of mixed conversions through the API against the same work
in-process, the latency of submitting a job, and how soon a webhook arrives after a job completes.

    python -m bench.bench_jobs [--rounds 3] [--jobs 100]

Goals: batch throughput ≥ 0.9× in-process; ``POST /v1/jobs`` p50 < 20 ms; webhook delivery p50
< 200 ms after completion. A real ``conversio serve --dev`` runs on 127.0.0.1 with one job worker
per core (each job worker runs one job at a time, in a conversion process of its own), jobs in
SQLite (WAL, ``synchronous=FULL``), a durable store, result cache off. In-process is a
``conversio.Conversio`` with as many worker processes, the same kind of store and cache off, fed by
as many threads. Webhook latency is the receiver's clock at arrival minus the event's ``timestamp``
(taken when the job's completion is committed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

import conversio
from bench.bench_pdf import vector_pdf
from bench.bench_server import sample_png
from bench.common import median_of, start_server, write_report

#: (what, input file, output format): the mix the batch repeats.
KINDS = (
    ("PNG 1200×900 → JPEG", "photo.png", "jpg"),
    ("PNG 1200×900 → WebP", "photo.png", "webp"),
    ("PDF, 3 pages → PNG ×pages", "report.pdf", "png"),
    ("PNG 1200×900 → PDF", "photo.png", "pdf"),
)


class Receiver:
    """Records the arrival time and body of every webhook; answers 204."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                arrived = time.time()
                with owner.lock:
                    owner.arrivals.append((arrived, json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def delays(self, event: str) -> list[float]:
        with self.lock:
            return [
                arrived - datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00")).timestamp()
                for arrived, payload in self.arrivals
                if payload["event"] == event
            ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_batch(receiver: Receiver, batch_id: str, timeout: float = 600) -> None:
    """Until the ``batch.completed`` webhook of ``batch_id`` arrives (every job must have completed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver.lock:
            done = [
                p
                for _, p in receiver.arrivals
                if p["event"] == "batch.completed" and p["batchId"] == batch_id
            ]
        if done:
            if done[0]["counts"] != {"completed": len(done[0]["jobs"])}:
                raise RuntimeError(f"batch {batch_id}: {done[0]['counts']}")
            return
        time.sleep(0.005)
    raise RuntimeError(f"batch {batch_id} did not finish within {timeout} s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    receiver = Receiver()
    inputs = {"photo.png": work / "photo.png", "report.pdf": work / "report.pdf"}
    inputs["photo.png"].write_bytes(sample_png((1200, 900)))
    vector_pdf(inputs["report.pdf"], 3, seed=7)
    mix = [KINDS[i % len(KINDS)] for i in range(args.jobs)]
    server, base = start_server(
        work / "server", job_workers=str(cores), url_allow="127.0.0.1", job_poll_interval="0.05"
    )
    app = conversio.Conversio(store=(work / "store").as_uri(), cache=False, workers=cores)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            ids = {}
            for name, path in inputs.items():
                with path.open("rb") as handle:
                    ids[name] = client.post("/v1/files", files={"file": (name, handle)}).json()["files"][0][
                        "id"
                    ]
            specs = [
                {"inputs": [{"fileId": ids[source]}], "outputFormat": target} for _, source, target in mix
            ]

            def over_http() -> None:
                reply = client.post(
                    "/v1/batch", json={"jobs": specs, "webhook": receiver.url, "callbackMode": "batch"}
                )
                reply.raise_for_status()
                wait_batch(receiver, reply.json()["batchId"])

            def in_process() -> None:
                def one(kind: tuple[str, str, str]) -> None:
                    result = app.convert(inputs[kind[1]], to=kind[2]).run()
                    assert result.artifacts

                with ThreadPoolExecutor(cores) as pool:
                    list(pool.map(one, mix))

            runs: dict[str, Callable[[], object]] = {"http": over_http, "in-process": in_process}
            in_process()  # warm the worker processes and the plugins on both sides
            over_http()
            times = median_of(runs, args.rounds)
            submissions: list[float] = []
            for spec in specs:
                began = time.perf_counter()
                reply = client.post("/v1/jobs", json={**spec, "webhook": receiver.url})
                submissions.append(time.perf_counter() - began)
                assert reply.status_code == 202, reply.text
            deadline = time.monotonic() + 600
            while len(receiver.delays("job.completed")) < len(specs):
                if time.monotonic() > deadline:
                    raise RuntimeError("the submitted jobs did not complete within 600 s")
                time.sleep(0.1)
        delays = receiver.delays("job.completed")
    finally:
        server.terminate()
        server.wait(30)
        app.close()
        receiver.close()
        shutil.rmtree(work, ignore_errors=True)
    throughput = {name: args.jobs / seconds for name, seconds in times.items()}
    ratio = throughput["http"] / throughput["in-process"]
    rows = [
        ["batch over HTTP (jobs/s)", f"{throughput['http']:.1f}", f"{ratio:.2f}× in-process", "≥ 0.9×"],
        ["same work in-process (jobs/s)", f"{throughput['in-process']:.1f}", "1.00×", "—"],
        [
            "`POST /v1/jobs` latency p50 / p90 (ms)",
            f"{1000 * statistics.median(submissions):.1f} / {1000 * percentile(submissions, 0.9):.1f}",
            "—",
            "p50 < 20 ms",
        ],
        [
            "webhook after completion p50 / p90 (ms)",
            f"{1000 * statistics.median(delays):.0f} / {1000 * percentile(delays, 0.9):.0f}",
            f"{len(delays)} deliveries",
            "p50 < 200 ms",
        ],
    ]
    write_report(
        "jobs",
        f"Jobs: a {args.jobs}-job batch over HTTP vs in-process, submission and webhook latency",
        ["measure", "value", "ratio", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds after one warm-up each. The batch repeats: "
            + "; ".join(k[0] for k in KINDS)
            + ". Inputs uploaded once, named by file id.",
            f"Server: `conversio serve --dev`, {cores} job workers; the batch (`callbackMode: batch`) is"
            " timed from submission until its `batch.completed` webhook arrives at a receiver on"
            " 127.0.0.1 (so its time includes one webhook delivery).",
            f"In-process: `Conversio(workers={cores}, cache=False)` on a filesystem store, {cores} threads.",
            f"Submission latency: {args.jobs} single `POST /v1/jobs` with a webhook, one after the other"
            " (each commits its job and its `job.queued` event to SQLite with synchronous=FULL);"
            " webhook delay: the `job.completed` events of those jobs.",
        ],
    )


if __name__ == "__main__":
    main()
