"""Leftovers of killed workers are swept: profiles of dead pids, pipe files nobody is bound to."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

from conversio_office.soffice import PREFIX, sweep_stale


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_sweep_removes_only_what_is_stale() -> None:
    tag = uuid.uuid4().hex[:8]
    stale_profile = Path(f"/tmp/{PREFIX}{dead_pid()}-{tag}")
    live_profile = Path(f"/tmp/{PREFIX}{os.getpid()}-{tag}")
    stale_pipe = Path(f"/tmp/OSL_PIPE_{os.getuid()}_{PREFIX}sweep-stale-{tag}")
    live_pipe = Path(f"/tmp/OSL_PIPE_{os.getuid()}_{PREFIX}sweep-live-{tag}")
    for folder in (stale_profile, live_profile):
        (folder / "user").mkdir(parents=True)
    closed = socket.socket(socket.AF_UNIX)
    closed.bind(str(stale_pipe))
    closed.close()  # the file stays, bound to nothing: what a SIGKILLed soffice leaves
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(live_pipe))
    listening.listen()
    try:
        sweep_stale()
        assert not stale_profile.exists() and not stale_pipe.exists()
        assert live_profile.is_dir() and live_pipe.exists()
    finally:
        listening.close()
        live_pipe.unlink(missing_ok=True)
        stale_pipe.unlink(missing_ok=True)
        for folder in (stale_profile, live_profile):
            shutil.rmtree(folder, ignore_errors=True)
