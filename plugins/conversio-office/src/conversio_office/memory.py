"""How close soffice came to its memory cap while a job ran.

soffice runs under an address-space cap (``RLIMIT_AS``): a document that needs more
makes an allocation fail, and LibreOffice then aborts or gives up on the document. Either
way the bridge only sees a failure; whether it was the cap is told by the largest address
space soffice reached during the job, sampled here from ``/proc``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType

#: How often the address space is sampled, in seconds.
SAMPLE_SECONDS = 0.1
#: A failure after soffice reached this share of its cap is the cap's doing.
NEAR_CAP = 0.9


def address_space(pid: int) -> int:
    """The address space of process ``pid`` in bytes (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class MemoryWatch:
    """Samples the address space of ``pid`` from a thread while the ``with`` block runs."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="conversio-office-memory", daemon=True)

    def __enter__(self) -> MemoryWatch:
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        assert self.pid is not None
        while True:
            self.peak = max(self.peak, address_space(self.pid))
            if self._done.wait(SAMPLE_SECONDS):
                return

    def near(self, cap: int) -> bool:
        """The address space reached ``NEAR_CAP`` of ``cap`` (never, without a cap)."""
        return cap > 0 and self.peak >= cap * NEAR_CAP
