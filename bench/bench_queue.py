"""Queue depth: claiming a job and submitting one with 100, 1,000 and 10,000 jobs queued over many
keys, on SQLite and PostgreSQL, by this checkout's job store and (``--base``) a base revision's.

    python -m bench.bench_queue [--base REV] [--keys 50] [--rounds 100]

Goals (issue 19): submission p50 with 10,000 queued within 1.2× of the empty queue's on both
databases, and a claim's time flat in the queue's length. Each side is a process of its own (the
base's server package from ``git archive REV``) holding one database per depth and kind (SQLite
files, databases of one local PostgreSQL cluster), filled through the store itself
(``JobStore.create``); each round then times one call of each kind on each database of each side,
in a shuffled order, so that the other work of the machine weighs on all alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from io import BytesIO
from pathlib import Path
from typing import Any

from bench.common import write_report

#: The queue depths measured (jobs queued when a claim or a submission is timed).
DEPTHS = (0, 100, 1000, 10_000)
DATABASES = ("sqlite", "postgresql")
#: What is timed: a claim, its read of the jobs to look at (the part that grew with the queue), and a
#: submission (a claim needs a queued job: none at depth 0).
MEASURES = {"claim": "claim", "read": "claim's read", "submit": "submission"}
#: The input formats the queued jobs cycle through (with the keys: the groups a claim looks at).
FORMATS = ("png", "pdf", "docx")
#: The limits a submission is checked against: a key's (the server's default) and everybody's
#: (above the deepest queue, so that none is refused).
LIMITS = (1000, 20_000)
#: Where this checkout's server package lives (a base revision's is extracted the same way).
SERVER_SOURCE = "plugins/conversio-server/src"
ROOT = Path(__file__).resolve().parent.parent


def _spec(n: int) -> dict[str, Any]:
    fmt = FORMATS[n % len(FORMATS)]
    return {
        "inputs": ["x"],
        "outputFormat": "jpg",
        "input": {"filename": f"f.{fmt}", "format": fmt, "size": 1},
    }


def serve(urls: dict[str, dict[str, str]], keys: int) -> None:
    """One side: fill a database of each depth and kind (``urls[kind][depth]``), say which server
    package it runs, then time the call each line of stdin names (``kind depth measure``) and print the
    seconds; each call is undone untimed (a claimed job released, a submitted one cancelled)."""
    import conversio_server
    import sqlalchemy as sa
    from conversio_server.jobstore import JobStore, NewJob

    stores = {}
    for kind, by_depth in urls.items():
        for depth, url in by_depth.items():
            store = stores[kind, int(depth)] = JobStore(url)
            for start in range(0, int(depth), 1000):
                count = min(int(depth) - start, 1000)
                store.create(
                    [NewJob(spec=_spec(n), key_id=f"key{n % keys:03d}") for n in range(start, start + count)]
                )
            if kind == "postgresql":
                with store.engine.begin() as db:  # the statistics autovacuum gathers by and by
                    db.execute(sa.text("ANALYZE"))
    one = NewJob(spec=_spec(1), key_id="key000")
    print(json.dumps({"package": conversio_server.__file__}), flush=True)
    for line in sys.stdin:
        kind, depth, measure = line.split()
        store = stores[kind, int(depth)]
        began = time.perf_counter()
        if measure == "claim":
            claimed = store.claim("bench", lease=60)
            took = time.perf_counter() - began
            assert claimed is not None
            store.release(claimed.id, "bench")
        elif measure == "read":
            store._candidates(time.time())
            took = time.perf_counter() - began
        else:
            job_id = store.create([one], limits=LIMITS)[0]["id"]
            took = time.perf_counter() - began
            store.cancel(job_id, None)
        print(took, flush=True)
    for store in stores.values():
        store.close()


def _extract(revision: str, into: Path) -> Path:
    """The server package of ``revision`` (``git archive``), under ``into``."""
    archive = subprocess.run(
        ["git", "archive", revision, SERVER_SOURCE], cwd=ROOT, capture_output=True, timeout=120, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / SERVER_SOURCE


def _start(source: Path, urls: dict[str, dict[str, str]], keys: int) -> subprocess.Popen[str]:
    """A side's process, running the server package of ``source``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(ROOT)])}
    command = [sys.executable, "-m", "bench.bench_queue", "--serve", json.dumps(urls), "--keys", str(keys)]
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _ready(process: subprocess.Popen[str], source: Path) -> None:
    """Wait until the side's databases are filled; it must run the server package of ``source``."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"the side of {source} exited with {process.wait()}")
    if not Path(json.loads(line)["package"]).is_relative_to(source):
        raise RuntimeError(f"the side of {source} imported another server package")


def _call(process: subprocess.Popen[str], kind: str, depth: int, measure: str) -> float:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"{kind} {depth} {measure}\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def measure_sides(sources: dict[str, Path], rounds: int, keys: int) -> dict[tuple[str, str, str, int], float]:
    """p50 seconds by (side, database kind, measure, depth)."""
    samples: dict[tuple[str, str, str, int], list[float]] = defaultdict(list)
    with contextlib.ExitStack() as stack:
        from conversio_server.testing import fresh_database, running_postgres

        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-queue-")))
        postgres = stack.enter_context(running_postgres())
        processes = {}
        for n, (side, source) in enumerate(sources.items()):
            urls = {
                "sqlite": {str(d): f"sqlite:///{work}/side{n}-{d}.sqlite3" for d in DEPTHS},
                "postgresql": {str(d): stack.enter_context(fresh_database(postgres)) for d in DEPTHS},
            }
            processes[side] = _start(source, urls, keys)
            stack.callback(_stop, processes[side])
        for side, process in processes.items():
            _ready(process, sources[side])
        calls = [
            (side, kind, measure, depth)
            for side in processes
            for kind in DATABASES
            for depth in DEPTHS
            for measure in MEASURES
            if depth or measure == "submit"
        ]
        order = random.Random(19)
        for _ in range(rounds):
            order.shuffle(calls)  # none always first after the other side's, nor after another kind's
            for side, kind, measure, depth in calls:
                samples[side, kind, measure, depth].append(_call(processes[side], kind, depth, measure))
    return {key: statistics.median(values) for key, values in samples.items()}


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        process.stdin.close()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _groups(depth: int, keys: int) -> int:
    """The groups (key, input format) of the first ``depth`` jobs :func:`serve` queues."""
    return len({(n % keys, n % len(FORMATS)) for n in range(depth)})


def _report(p50: dict[tuple[str, str, str, int], float], sides: list[str], args: argparse.Namespace) -> None:
    now = sides[-1]
    rows = []
    for kind in DATABASES:
        for measure, label in MEASURES.items():
            shallowest = p50[now, kind, measure, 0 if measure == "submit" else DEPTHS[1]]
            for depth in DEPTHS:
                if (now, kind, measure, depth) not in p50:
                    continue
                figures = [p50[side, kind, measure, depth] for side in sides]
                row = [kind, f"{label} p50 (ms)", f"{depth:,}", *(f"{1000 * f:.2f}" for f in figures)]
                row.append(f"{figures[-1] / shallowest:.2f}×")
                if len(sides) == 2:
                    row.append(f"{figures[1] / figures[0]:.2f}×")
                rows.append(row)
    header = ["database", "measure", "queued", *sides, f"{now} vs shallowest"]
    if len(sides) == 2:
        header.append(f"{sides[1]} / {sides[0]}")
    write_report(
        "queue",
        f"Queue depth: claims and submissions with up to {DEPTHS[-1]:,} jobs queued over {args.keys} keys",
        header,
        rows,
        [
            f"p50 of {args.rounds} interleaved rounds: each round times one call of each measure on each"
            " database (one per depth and kind) of each side, in a shuffled order, "
            + " and ".join(f"`{side}`" for side in sides)
            + f", each side a process of its own. Jobs are queued through `JobStore.create` over {args.keys}"
            f" keys × {len(FORMATS)} input formats ({args.keys * len(FORMATS)} groups), in age order.",
            "A claim is `JobStore.claim` (no lanes), its job released again untimed; its read is the query"
            " of the jobs it looks at and of the running jobs of each key (`_candidates`: the claim"
            f" without its write); a submission is `JobStore.create` of one job within limits ({LIMITS[0]:,}"
            f" a key, {LIMITS[1]:,} in all), cancelled again untimed: each queue stays at its depth.",
            "SQLite: files in WAL mode with synchronous=FULL; PostgreSQL: a local cluster over its Unix"
            " socket, fsync off, `ANALYZE` after the fill (what autovacuum does by and by).",
            "Goals: submission with 10,000 queued ≤ 1.2× the empty queue's; a claim flat in the queue's"
            " length ('vs shallowest': against 0 queued for submissions, 100 for claims). A claim's read"
            " walks the groups of key and input format: "
            + ", ".join(f"{d:,} jobs make {_groups(d, args.keys)}" for d in DEPTHS[1:])
            + f"; with {DEPTHS[1]:,} jobs PostgreSQL finds the table small enough to plan scans of it"
            " rather than index lookups.",
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="also measure this revision's job store (git archive)")
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # one side, in its own process
    args = parser.parse_args(argv)
    if args.serve:
        serve(json.loads(args.serve), args.keys)
        return
    with tempfile.TemporaryDirectory(prefix="bench-queue-base-") as base:
        sources = {"this checkout": ROOT / SERVER_SOURCE}
        if args.base:
            sources = {f"base {args.base}": _extract(args.base, Path(base)), **sources}
        p50 = measure_sides(sources, args.rounds, args.keys)
    _report(p50, list(sources), args)


if __name__ == "__main__":
    main()
