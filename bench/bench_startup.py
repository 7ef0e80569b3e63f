"""Start-up: ``conversio formats`` with every plugin installed vs ``python -c pass``.

    python -m bench.bench_startup [--runs 20]

Also checks that building the registry (every plugin's registration) imports no engine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from bench.common import write_report

ENGINES = ("PIL", "pillow_heif", "resvg_py", "py7zr")
_PROBE = f"""
import json, sys
from conversio.plugins import PluginHost
host = PluginHost()
host.registry
print(json.dumps({{"plugins": [p.name for p in host.plugins if p.status == "loaded"],
                   "engines": [m for m in {ENGINES!r} if m in sys.modules]}}))
"""


def wall(command: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    probe = json.loads(
        subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True).stdout
    )
    base = wall([sys.executable, "-c", "pass"], args.runs)
    formats = wall([sys.executable, "-m", "conversio", "formats"], args.runs)
    rows = [
        ["python -c pass", f"{base * 1000:.0f}", "1.0×"],
        ["conversio formats", f"{formats * 1000:.0f}", f"{formats / base:.1f}×"],
    ]
    write_report(
        "startup",
        "Start-up: conversio formats vs python -c pass",
        ["command", "ms (median)", "ratio"],
        rows,
        [
            f"Median of {args.runs} runs. Plugins loaded: {', '.join(probe['plugins'])}.",
            f"Engines imported by registration: {', '.join(probe['engines']) or 'none'} (goal: none).",
        ],
    )
    if probe["engines"]:
        sys.exit(f"registration imported engines: {probe['engines']}")


if __name__ == "__main__":
    main()
