"""Killing the ``conversio`` CLI with SIGKILL leaves no worker or LibreOffice behind, nor their profiles."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from conversio.testing.processes import descendants, gather, left_after

#: Generous, for a loaded machine: LibreOffice starting.
DEADLINE = 60.0
#: The worker notices its parent's death within 0.2 s; converting the CSV takes longer than this.
GONE_WITHIN = 15.0


def test_sigkill_of_the_cli_leaves_nothing_running(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_text("\n".join(",".join(f"cell {r} {c}" for c in range(12)) for r in range(200_000)))
    cli = subprocess.Popen(
        [sys.executable, "-m", "conversio", "convert", str(big), "--to", "pdf", "-o", str(tmp_path / "out")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CONVERSIO_STORE": "memory://"},
    )
    try:
        seen = gather(cli.pid, lambda found: "soffice.bin" in found.values(), DEADLINE)
        assert "soffice.bin" in seen.values(), f"LibreOffice never started: {seen}"
        time.sleep(0.5)  # mid-conversion
        seen.update(descendants(cli.pid))
        workers = {pid for pid, name in seen.items() if name.startswith("python")}
        assert leftovers(workers)  # the profile, the staged input and the pipe, while it runs
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait()
    left = left_after(seen, GONE_WITHIN)
    assert not left, f"left running: {[seen[p] for p in left]}"
    assert workers
    deadline = time.monotonic() + GONE_WITHIN  # the worker removes its profile on its way out
    while leftovers(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(workers)


def leftovers(workers: set[int]) -> list[Path]:
    """The profile and input folders of these workers' LibreOffice, and its pipe."""
    patterns = [f"{tempfile.gettempdir()}/conversio-office-{pid}-*" for pid in workers]
    patterns += [f"/tmp/OSL_PIPE_{os.getuid()}_conversio-office-{pid}-*" for pid in workers]
    return [Path(path) for pattern in patterns for path in glob.glob(pattern)]
