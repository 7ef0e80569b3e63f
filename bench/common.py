"""Shared helpers for the benchmarks: timing, machine description, result files, a local server."""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
DATA = Path(__file__).parent / ".data"


def cached_samples(folder: str, name: str, count: int, make: Callable[[Path, int], object]) -> list[Path]:
    """``count`` sample files ``DATA/folder/name`` (``name`` formatted with the number), each made
    by ``make(path, number)`` once and kept for later runs."""
    where = DATA / folder
    where.mkdir(parents=True, exist_ok=True)
    paths = [where / name.format(i) for i in range(count)]
    for i, path in enumerate(paths):
        if not path.exists():
            make(path, i)
    return paths


def machine() -> str:
    """One line describing where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def filesystem_of(path: Path) -> str:
    """The type of the filesystem ``path`` is on (``tmpfs``, ``ext4``, ...), from /proc/mounts."""
    best, kind = "", "unknown"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    resolved = str(path.resolve())
    for line in mounts:
        _, point, fstype, *_ = line.split()
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Run every function ``rounds`` times, interleaved (noise hits all alike); medians."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(timed(fn))
    return {name: statistics.median(values) for name, values in samples.items()}


def median_per_folder(
    runs: dict[str, Callable[[Path], None]],
    check: Callable[[Path], None],
    work: Path,
    rounds: int,
) -> dict[str, float]:
    """Median seconds of each run over ``rounds`` interleaved rounds; each run writes into a fresh
    folder of ``work``, which ``check`` reads afterwards, outside the timing, so no failure is timed."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            out = work / name
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            seconds[name].append(timed(lambda: run(out)))  # noqa: B023 - called at once
            check(out)
    return {name: statistics.median(values) for name, values in seconds.items()}


def write_report(name: str, title: str, header: list[str], rows: list[list[str]], notes: list[str]) -> Path:
    """Print a markdown table and write it to ``bench/results/<name>-<date>.md``."""
    today = datetime.date.today().isoformat()
    lines = [f"# {title}", "", f"{today} — {machine()}", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", *notes, ""]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{today}.md"
    path.write_text(text)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """``conversio serve --dev`` (cache off, and ``CONVERSIO_SERVER_<NAME>`` for each of ``settings``) on
    a free loopback port; waits at most 60 s for /healthz."""
    import httpx  # only the server benchmarks need it

    port = free_port()
    command = [sys.executable, "-m", "conversio", "serve", "--dev", "--port", str(port)]
    command += ["--data-dir", str(data), "--log-level", "warning"]
    env = {**os.environ, "CONVERSIO_STORE": "", "CONVERSIO_SERVER_CACHE": "0"}
    env.update({f"CONVERSIO_SERVER_{name.upper()}": value for name, value in settings.items()})
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"conversio serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("conversio serve did not answer /healthz within 60 s")
