"""Killing the ``conversio`` CLI with SIGKILL mid-conversion leaves no worker or ffmpeg running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conversio.testing.processes import gather, left_after

#: Generous, for a loaded machine: the worker starting and probing before ffmpeg runs.
DEADLINE = 60.0
#: The worker notices its parent's death within 0.2 s; the conversion itself takes minutes.
GONE_WITHIN = 15.0


def test_sigkill_of_the_cli_leaves_no_ffmpeg(tmp_path: Path, long_clip: Path) -> None:
    command = ["convert", str(long_clip), "--to", "webm", "-O", "preset=veryslow", "-O", "crf=10"]
    cli = subprocess.Popen(
        [sys.executable, "-m", "conversio", *command, "-o", str(tmp_path / "out.webm")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "CONVERSIO_STORE": "memory://"},
    )
    try:
        seen = gather(cli.pid, lambda found: "ffmpeg" in found.values(), DEADLINE)
        assert "ffmpeg" in seen.values(), f"ffmpeg never started: {seen}"
    finally:
        cli.send_signal(signal.SIGKILL)
        cli.wait()
    left = left_after(seen, GONE_WITHIN)
    assert not left, f"left running: {[seen[p] for p in left]}"
    assert not (tmp_path / "out.webm").exists()
