"""Synchronous PNG → JPEG over HTTP: requests per second and p50/p99 latency with 1, 8 and 32
concurrent clients on loopback, against the same conversions in-process.

    python -m bench.bench_server [--seconds 6] [--size 800x600]

Goal: HTTP throughput ≥ 0.8× in-process at 8 clients. A real ``conversio serve --dev`` runs on
127.0.0.1 in its own process (worker processes: one per core, durable store, result cache off);
in-process is a ``conversio.Conversio`` with the same kind of store and workers, cache off, called
from as many threads as there are clients, each reading the JPEG back as an HTTP client would.
Clients and server share the machine's cores, as they would on one host.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
from PIL import Image

import conversio
from bench.common import start_server, write_report

LEVELS = (1, 8, 32)


def sample_png(size: tuple[int, int]) -> bytes:
    """A photo-like PNG (gradients and noise), so the JPEG encoder has real work."""
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 40)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def check_jpeg(data: bytes, size: tuple[int, int]) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == size, (image.format, image.size)


Call = Callable[[], None]


def run_level(clients: int, seconds: float, make_call: Callable[[], Call]) -> tuple[float, list[float]]:
    """``clients`` threads calling as fast as they can for ``seconds``; (requests/s, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]
    errors: list[BaseException] = []

    def client() -> None:
        call = make_call()
        mine: list[float] = []
        start.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                began = time.perf_counter()
                call()
                mine.append(time.perf_counter() - began)
        except BaseException as exc:
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return len(latencies) / elapsed, latencies


class CpuMeter:
    """CPU seconds (user + system) a set of processes use during a ``with`` block.

    Sampled per process id every 0.2 s, so that a worker that exits during the block (workers are
    recycled after a number of tasks) still counts with what it used up to its last sample.
    """

    def __init__(self, roots: list[psutil.Process], *, children: bool, exclude: int | None = None) -> None:
        self.roots, self.children, self.exclude = roots, children, exclude
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.used = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._run, name="cpu-meter", daemon=True)

    def _sample(self) -> dict[int, float]:
        processes = list(self.roots)
        if self.children:
            for root in self.roots:
                processes += root.children(recursive=True)
        if self.exclude is not None:
            excluded = psutil.Process(self.exclude)
            skip = {self.exclude, *(p.pid for p in excluded.children(recursive=True))}
            processes = [p for p in processes if p.pid not in skip]
        seconds = {}
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seconds[process.pid] = times.user + times.system
        return seconds

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.last.update(self._sample())

    def __enter__(self) -> CpuMeter:
        self.start = self._sample()
        self.last = dict(self.start)
        self._sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self.last.update(self._sample())
        self.used = sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.last.items())


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Duration of each measurement.")
    parser.add_argument("--rounds", type=int, default=3, help="Interleaved rounds per level (median rate).")
    parser.add_argument("--size", default="800x600", help="Image size, WIDTHxHEIGHT.")
    args = parser.parse_args(argv)
    width, height = (int(n) for n in args.size.lower().split("x"))
    size = (width, height)
    png = sample_png(size)
    scratch = Path(tempfile.mkdtemp(prefix="bench-server-"))
    source = scratch / "photo.png"
    source.write_bytes(png)
    process, base = start_server(scratch / "server")
    me, server_process = psutil.Process(), psutil.Process(process.pid)
    store_url = (scratch / "inprocess-store").resolve().as_uri() + "?durable=1&ttl=3600"
    app = conversio.Conversio(store=store_url, executor="process", cache=False)
    try:

        def http_call() -> Callable[[], None]:
            client = httpx.Client(base_url=base, timeout=120)

            def call() -> None:
                files = {"file": ("photo.png", png)}
                answer = client.post("/v1/convert", files=files, data={"outputFormat": "jpg"})
                answer.raise_for_status()
                check_jpeg(answer.content, size)

            return call

        def in_process_call() -> Callable[[], None]:
            def call() -> None:
                check_jpeg(app.convert(source, to="jpg").run().read_bytes(), size)

            return call

        for warm in (http_call(), in_process_call()):  # workers started, engines imported
            for _ in range(4):
                warm()
        rows = []
        load_before = os.getloadavg()[0]
        for clients in LEVELS:
            local_rates, http_rates, local_lat, http_lat = [], [], [], []
            local_cpu, http_cpu = 0.0, 0.0
            for _ in range(args.rounds):  # interleaved: noise from the machine hits both sides alike
                with CpuMeter([me], children=True, exclude=process.pid) as meter:
                    rate, latencies = run_level(clients, args.seconds, in_process_call)
                local_rates.append(rate)
                local_lat += latencies
                local_cpu += meter.used
                # the server with its workers, and this process (the clients; the in-process side is idle)
                with (
                    CpuMeter([server_process], children=True) as meter,
                    CpuMeter([me], children=False) as own,
                ):
                    rate, latencies = run_level(clients, args.seconds, http_call)
                http_rates.append(rate)
                http_lat += latencies
                http_cpu += meter.used + own.used
            local_rate, http_rate = statistics.median(local_rates), statistics.median(http_rates)
            local_ms = local_cpu / len(local_lat) * 1000
            http_ms = http_cpu / len(http_lat) * 1000
            goal = "≥ 0.8×" if clients == 8 else "—"
            rows.append(
                [
                    str(clients),
                    f"{local_rate:.1f}",
                    f"{http_rate:.1f}",
                    f"{http_rate / local_rate:.2f}×",
                    goal,
                    f"{statistics.median(local_lat) * 1000:.0f} / {quantile(local_lat, 0.99) * 1000:.0f}",
                    f"{statistics.median(http_lat) * 1000:.0f} / {quantile(http_lat, 0.99) * 1000:.0f}",
                    f"{local_ms:.1f} / {http_ms:.1f} ({local_ms / http_ms:.2f}×)",
                ]
            )
        load_after = os.getloadavg()[0]
    finally:
        app.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    write_report(
        "server",
        f"Sync PNG → JPEG ({width}×{height}, {len(png) // 1024} KiB): HTTP on loopback vs in-process",
        [
            "clients",
            "in-process req/s",
            "HTTP req/s",
            "HTTP / in-process",
            "goal",
            "in-process p50 / p99 ms",
            "HTTP p50 / p99 ms",
            "CPU ms per request: in-process / HTTP",
        ],
        rows,
        [
            f"Each level: {args.rounds} interleaved rounds of {args.seconds:g} s per side; requests/s is the "
            "median round, latencies are over every request. Every answer is decoded and checked.",
            "Server: `conversio serve --dev` (one worker process per core, durable filesystem store, result "
            "cache off) in its own process; clients are httpx in threads of the benchmark process, one "
            "connection each, posting the PNG as multipart and reading the JPEG from the response.",
            "In-process: `conversio.Conversio(executor='process', cache=False)` with a durable filesystem "
            "store, called from as many threads; each call stores the PNG, converts and reads the JPEG back.",
            "CPU ms per request: user + system time of every process of that side (in-process: this process "
            "and its workers; HTTP: the server with its workers, and the clients) over the requests it "
            "answered; the bracket is the throughput that ratio allows on a machine with nothing else to do.",
            f"Load average (1 min) before / after: {load_before:.1f} / {load_after:.1f} on "
            f"{os.cpu_count()} cores: other work on the machine moves these numbers.",
        ],
    )


if __name__ == "__main__":
    main()
