"""The processes a test started, read from ``/proc``: what is still running after a kill."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

PROC = Path("/proc")


def descendants(pid: int) -> dict[int, str]:
    """pid → command name of every process below ``pid`` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(stat[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = _name(child)
                frontier.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie, killed but not yet reaped, is not)."""
    return {pid for pid in pids if (stat := _stat(pid)) is not None and stat[0] != "Z"}


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name: state, ppid, ..."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return "?"


def gather(pid: int, until: Callable[[dict[int, str]], bool], seconds: float) -> dict[int, str]:
    """The processes seen below ``pid`` until ``until(seen)`` holds, ``pid`` ends or ``seconds`` pass."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + seconds
    while not until(seen) and running({pid}) and time.monotonic() < deadline:
        seen.update(descendants(pid))
        time.sleep(0.1)
    return seen


def left_after(pids: Iterable[int], seconds: float) -> set[int]:
    """Those of ``pids`` still running once none is, or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while (left := running(set(pids))) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left
