"""Synchronous PNG → JPEG over HTTP: requests per second and p50/p99 latency with 1, 8 and 32
concurrent clients on loopback, against the same conversions in-process.

    python -m bench.bench_server [--seconds 6] [--size 800x600]

Goal: HTTP throughput ≥ 0.8× in-process at 8 clients. A real ``conversio serve --dev`` runs on
127.0.0.1 in its own process (worker processes: one per core, durable store, result cache off);
its clients are processes of their own, one connection each, as separate programs would be.
In-process is a ``conversio.Conversio`` with the same kind of store and workers, cache off, called
from as many threads as there are clients, each reading the JPEG back as an HTTP client would.
Clients and server share the machine's cores, as they would on one host.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import psutil
from PIL import Image

import conversio
from bench.common import start_server, write_report

LEVELS = (1, 8, 32)
#: Also measured with the clients as threads of one process (they then share one interpreter lock).
THREADED_LEVEL = 8


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


def post_png(client: httpx.Client, png: bytes, size: tuple[int, int]) -> None:
    """One request as every HTTP client here makes it: the PNG as multipart, the JPEG checked."""
    answer = client.post("/v1/convert", files={"file": ("photo.png", png)}, data={"outputFormat": "jpg"})
    answer.raise_for_status()
    check_jpeg(answer.content, size)


def _client_process(conn: Connection, base: str, png: bytes, size: tuple[int, int]) -> None:
    """A client program: on ``(start, stop)`` (``time.monotonic()``, the same clock in every process of
    the host) it posts until ``stop`` and answers its latencies; ``None`` ends it."""
    with httpx.Client(base_url=base, timeout=120) as client:
        post_png(client, png, size)  # connected, imports done
        conn.send([])
        while (window := conn.recv()) is not None:
            start, stop = window
            time.sleep(max(0.0, start - time.monotonic()))
            latencies = []
            while time.monotonic() < stop:
                began = time.perf_counter()
                post_png(client, png, size)
                latencies.append(time.perf_counter() - began)
            conn.send(latencies)


class ClientProcesses:
    """``count`` HTTP clients, each a process with one connection to ``base``."""

    def __init__(self, count: int, base: str, png: bytes, size: tuple[int, int]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(target=_client_process, args=(theirs, base, png, size), daemon=True)
            process.start()
            self.pipes.append(mine)
            self.processes.append(process)
        for pipe in self.pipes:
            if not pipe.poll(120):
                raise RuntimeError("a client process did not start within 120 s")
            pipe.recv()

    def run(self, clients: int, seconds: float) -> tuple[float, list[float], float]:
        """The first ``clients`` post for ``seconds``: (requests/s, latencies, their CPU seconds)."""
        active = self.pipes[:clients]
        meter = CpuMeter([psutil.Process(p.pid) for p in self.processes[:clients]], children=False)
        start = time.monotonic() + 0.2
        for pipe in active:
            pipe.send((start, start + seconds))
        with meter:
            time.sleep(max(0.0, start - time.monotonic()))
            latencies = [value for pipe in active for value in _answer(pipe, seconds + 120)]
        return len(latencies) / seconds, latencies, meter.used

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def __enter__(self) -> ClientProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()


def _answer(pipe: Connection, timeout: float) -> list[float]:
    if not pipe.poll(timeout):
        raise RuntimeError(f"a client process did not answer within {timeout:g} s")
    latencies: list[float] = pipe.recv()
    return latencies


class CpuMeter:
    """CPU seconds (user + system) a set of processes use during a ``with`` block.

    Sampled per process id every 0.2 s, so that a worker that exits during the block (workers are
    recycled after a number of tasks) still counts with what it used up to its last sample. With
    ``children``, the roots' descendants count too, except ``exclude`` and theirs.
    """

    def __init__(self, roots: list[psutil.Process], *, children: bool, exclude: Sequence[int] = ()) -> None:
        self.roots, self.children, self.exclude = roots, children, exclude
        self.start: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.used = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._run, name="cpu-meter", daemon=True)

    def _sample(self) -> dict[int, float]:
        processes = list(self.roots)
        if self.children:  # the roots' descendants but the excluded ones and theirs, from one scan
            kids: dict[int, list[psutil.Process]] = {}
            for process in psutil.process_iter(["ppid"]):
                kids.setdefault(process.info["ppid"], []).append(process)
            stack = [root.pid for root in self.roots]
            while stack:
                for child in kids.get(stack.pop(), []):
                    if child.pid not in self.exclude:
                        processes.append(child)
                        stack.append(child.pid)
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


class Tally:
    """One side's rounds at one level: request rates, every latency, CPU seconds."""

    def __init__(self) -> None:
        self.rates: list[float] = []
        self.latencies: list[float] = []
        self.cpu = 0.0

    def add(self, rate: float, latencies: list[float], cpu: float) -> None:
        self.rates.append(rate)
        self.latencies += latencies
        self.cpu += cpu

    def rate(self) -> float:
        return statistics.median(self.rates)

    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1000

    def lat(self) -> str:
        return f"{statistics.median(self.latencies) * 1000:.0f} / {quantile(self.latencies, 0.99) * 1000:.0f}"

    def against(self, http: Tally, goal: str) -> list[str]:
        """The report's cells comparing this (in-process) side with ``http``, after the level's."""
        local_ms, http_ms = self.cpu_ms(), http.cpu_ms()
        return [
            f"{self.rate():.1f}",
            f"{http.rate():.1f}",
            f"{http.rate() / self.rate():.2f}×",
            goal,
            self.lat(),
            http.lat(),
            f"{local_ms:.1f} / {http_ms:.1f} ({local_ms / http_ms:.2f}×)",
        ]


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
            return lambda: post_png(client, png, size)

        def in_process_call() -> Callable[[], None]:
            def call() -> None:
                check_jpeg(app.convert(source, to="jpg").run().read_bytes(), size)

            return call

        for warm in (http_call(), in_process_call()):  # workers started, engines imported
            for _ in range(4):
                warm()
        rows = []
        load_before = os.getloadavg()[0]
        with ClientProcesses(max(LEVELS), base, png, size) as clients_pool:
            for clients in LEVELS:
                local, http, threaded = Tally(), Tally(), Tally()
                for _ in range(args.rounds):  # interleaved: noise from the machine hits both sides alike
                    with CpuMeter([me], children=True, exclude=[process.pid, *clients_pool.pids]) as meter:
                        rate, latencies = run_level(clients, args.seconds, in_process_call)
                    local.add(rate, latencies, meter.used)
                    with CpuMeter([server_process], children=True) as meter:
                        rate, latencies, client_cpu = clients_pool.run(clients, args.seconds)
                    http.add(rate, latencies, meter.used + client_cpu)
                    if clients == THREADED_LEVEL:  # the same clients as threads of this process, for scale
                        with (
                            CpuMeter([server_process], children=True) as meter,
                            CpuMeter([me], children=False) as own,
                        ):
                            rate, latencies = run_level(clients, args.seconds, http_call)
                        threaded.add(rate, latencies, meter.used + own.used)
                goal = "≥ 0.8×" if clients == 8 else "—"
                rows.append([str(clients), *local.against(http, goal)])
                if threaded.rates:
                    rows.append([f"{clients}, as threads of one process", *local.against(threaded, "—")])
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
            "cache off) in its own process; clients are httpx in processes of their own, one connection "
            "each (as separate programs would be), posting the PNG as multipart and reading the JPEG from "
            f"the response. The row '{THREADED_LEVEL}, as threads of one process' runs the same clients in "
            "threads of the benchmark process instead, as this benchmark did until 2026-11-23: they then "
            "share one interpreter lock, which costs them about 0.9 ms of CPU a request.",
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
