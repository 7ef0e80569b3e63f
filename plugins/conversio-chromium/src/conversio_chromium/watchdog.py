"""What stops a conversion that runs too long or grows too big: the browser is killed under it.

Chromium cannot run under an address-space cap (``RLIMIT_AS``): it reserves far more address
space than it uses, so it is measured instead. A :class:`Watchdog` thread samples the memory of
the browser's process tree (its resident anonymous memory, from ``/proc``: shared libraries and
pages shared between its processes are not counted twice) and the clock while one conversion
runs; past the deadline or the cap it kills the browser's process group, which makes the
conversion's pending browser call fail at once, and records why.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from types import TracebackType

#: How often the clock and the memory are checked, in seconds. Each check reads ``/proc``: every
#: 50 ms it cost 5 % of a small page's conversion time, every 100 ms half that.
SAMPLE_SECONDS = 0.1
#: A conversion's own deadline comes this long before its step's time limit (when the worker
#: running it is killed), so that it ends by the watchdog's hand, its worker kept: its browser
#: calls time out first, and the kill (for a call that never returns, as under a script in an
#: endless loop) comes half of it later.
MARGIN_SECONDS = 2.0


def tree(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, frontier = [root], [root]
    while frontier:
        for child in children.get(frontier.pop(), ()):
            found.append(child)
            frontier.append(child)
    return found


def running(pid: int) -> bool:
    """Process ``pid`` exists and is not a zombie (killed, not yet reaped by its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def tree_memory(root: int) -> int:
    """The resident anonymous memory of ``root``'s process tree, in bytes (0 once it is gone)."""
    total = 0
    for pid in tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("RssAnon:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def kill_group(pid: int) -> None:
    """SIGKILL the process group ``pid`` leads (the browser and every process it started)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Watchdog:
    """Kills the browser ``pid`` shortly before ``seconds`` (the step's time limit) have passed since
    ``started`` (a :func:`time.monotonic` time: the browser's start counts too), or
    once its tree holds more than ``memory_cap`` bytes (0: no cap), while the ``with`` block runs;
    ``fired`` says which (``"timeout"``, ``"memory"``) or is empty. :meth:`left` is the time the
    conversion's own calls have."""

    def __init__(self, pid: int, seconds: float, memory_cap: int, started: float) -> None:
        self.pid = pid
        self.seconds = seconds
        margin = min(MARGIN_SECONDS, seconds / 4)
        self.deadline = started + seconds - margin
        self.kill_at = self.deadline + margin / 2
        self.memory_cap = memory_cap
        self.peak = 0
        self.fired = ""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="conversio-chromium-watchdog", daemon=True)

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join()

    def left(self) -> float:
        """Seconds left before the deadline (never below zero)."""
        return max(0.0, self.deadline - time.monotonic())

    def _watch(self) -> None:
        while not self._done.wait(SAMPLE_SECONDS):
            if self.memory_cap > 0:
                self.peak = max(self.peak, tree_memory(self.pid))
                if self.peak > self.memory_cap:
                    self._fire("memory")
                    return
            if time.monotonic() >= self.kill_at:
                self._fire("timeout")
                return

    def _fire(self, why: str) -> None:
        self.fired = why
        kill_group(self.pid)
