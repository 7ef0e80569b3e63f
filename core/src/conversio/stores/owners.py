"""Temporary names that carry their owner process, so that a dead owner's leftovers go at once.

A name made by :func:`owned_name` reads ``<prefix><host>-<pid>-<start>-``: the host (a short hash
of its name and pid namespace), the process id and the process's start time (clock ticks since
boot, which tells a reused pid apart). :func:`owner_gone` answers for names made on this host, in
this pid namespace, only; for any other name the caller falls back on the entry's age.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from functools import cache

_OWNED = re.compile(r"[a-z]+-(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-(?P<start>[0-9]+)-")


@cache
def _host() -> str:
    """This host and pid namespace (containers sharing a store each have their own pids)."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return hashlib.sha256(f"{socket.gethostname()}/{namespace}".encode()).hexdigest()[:8]


def _start_time(pid: int) -> int | None:
    """When process ``pid`` started (``/proc/<pid>/stat`` field 22); ``None`` if it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count from its closing one
    fields = text[text.rindex(b")") + 2 :].split()
    return int(fields[19])


def owned_name(prefix: str) -> str:
    """``prefix`` and this process's tag, for a temporary entry (a random part is added by the caller)."""
    pid = os.getpid()
    return f"{prefix}{_host()}-{pid}-{_start_time(pid) or 0}-"


def owner_gone(name: str) -> bool:
    """Whether ``name`` was made by a process of this host that no longer runs."""
    match = _OWNED.match(name)
    if match is None or match["host"] != _host() or match["start"] == "0":  # 0: no /proc to tell
        return False
    return _start_time(int(match["pid"])) != int(match["start"])
