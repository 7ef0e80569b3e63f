"""The job workers ``conversio serve`` starts, kept alive: a worker that dies (killed, crashed, out of
memory) is noticed at once, its jobs go back to the queue and a new worker takes its place.

Workers are spawned processes (nothing of the server's threads is inherited). One thread waits on
the workers' exit sentinels (the kernel closes them when a process ends: no polling), on the pipes
each worker reports it is ready on, and on a pipe :meth:`JobWorkerSupervisor.stop` writes to. Since the
supervisor knows a dead worker is gone, it hands that worker's jobs back to the queue itself instead of
waiting for their leases to expire; the next claim resumes them (finished steps come from the cache).
A job whose worker died on each of ``CRASH_LIMIT`` attempts fails (``CONVERSION_FAILED``, ``crashed``).
A worker that dies within ``QUICK_DEATH`` seconds of its start is replaced after a delay that doubles
each time (up to ``MAX_DELAY``): a broken installation must not make the server spawn in a tight loop.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import attrs

from conversio.errors import ConversionFailed
from conversio_server.jobstore import FAILED, JobStore
from conversio_server.settings import ServerSettings

log = logging.getLogger("conversio_server.supervisor")

#: The attempt on which a job whose worker died fails instead of being queued again.
CRASH_LIMIT = 3
#: A worker that ends sooner than this after its start counts as a failed start.
QUICK_DEATH = 10.0
#: The longest wait before replacing a worker that keeps failing to start.
MAX_DELAY = 60.0


def _portable(settings: ServerSettings) -> dict[str, Any]:
    """The settings as picklable values (the key configuration is rebuilt from them in the child)."""
    values = attrs.asdict(settings, recurse=False)
    values.pop("auth")
    return values


def _run_supervised(values: dict[str, Any], name: str, ready: Connection) -> None:
    """The body of a supervised worker: tell the supervisor once it claims jobs, run until SIGTERM or
    until the server is gone (even SIGKILLed: then its running jobs are handed back at once)."""
    from conversio_server.worker import run_worker

    def report_ready() -> None:
        ready.send_bytes(b"ready")
        ready.close()

    threading.Thread(target=_stop_with_parent, name="parent-watch", daemon=True).start()
    run_worker(ServerSettings(**values), name=name, on_ready=report_ready)


def _stop_with_parent() -> None:
    """Wait for the server's end (its sentinel), then stop this worker as SIGTERM does."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)


def _delay(quick_deaths: int) -> float:
    """Seconds before replacing a worker after ``quick_deaths`` failed starts in a row: 0, 1, 2, 4 ..."""
    return min(MAX_DELAY, 2.0 ** (quick_deaths - 1)) if quick_deaths else 0.0


@attrs.define
class _Slot:
    """One of the ``count`` places of a worker: the process in it now, and how its starts went."""

    index: int
    process: BaseProcess | None = None
    name: str = ""
    ready: Connection | None = None  # until the worker reports it is ready
    alive: bool = False  # started and ready, its exit not yet seen
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None


class JobWorkerSupervisor:
    """``count`` job worker processes, each replaced as soon as it dies (see the module's text)."""

    def __init__(self, settings: ServerSettings, count: int, store: JobStore) -> None:
        self.settings, self.count, self.store = settings, count, store
        self._context = multiprocessing.get_context("spawn")
        self._slots = [_Slot(i) for i in range(count)]
        self._lock = threading.Lock()
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._watch, name="job-worker-supervisor", daemon=True)
        #: How many workers died and were replaced since the start (for logs and tests).
        self.replaced = 0

    def alive(self) -> int:
        """How many workers are running and ready to claim jobs."""
        with self._lock:
            return sum(slot.alive for slot in self._slots)

    def pids(self) -> list[int]:
        """The process ids of the workers running now."""
        with self._lock:
            return [s.process.pid for s in self._slots if s.alive and s.process and s.process.pid]

    def start(self) -> None:
        now = time.monotonic()
        with self._lock:
            for slot in self._slots:
                self._try_launch(slot, now)
        self._thread.start()

    def _try_launch(self, slot: _Slot, now: float) -> None:
        """Start a worker in ``slot``, or schedule another try when the system refuses (under the lock)."""
        try:
            self._launch(slot)
        except Exception as exc:  # no memory, no process slots, too many open files ...
            slot.quick_deaths += 1
            slot.restart_at = now + _delay(slot.quick_deaths)
            log.error("could not start job worker %d (%s); trying again soon", slot.index, exc)

    def _launch(self, slot: _Slot) -> None:
        """Start a worker in ``slot`` (under the lock)."""
        receiving, sending = self._context.Pipe(duplex=False)
        slot.name = f"serve-{os.getpid()}-{slot.index}-{secrets.token_hex(3)}"
        slot.process = self._context.Process(
            target=_run_supervised,
            args=(_portable(self.settings), slot.name, sending),
            name=f"conversio-worker-{slot.index}",
            daemon=False,
        )
        slot.process.start()
        sending.close()
        slot.ready, slot.alive, slot.restart_at = receiving, False, None
        slot.started_at = time.monotonic()

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                waitables: list[Any] = [self._wake_read]
                waitables += [s.process.sentinel for s in self._slots if s.process is not None]
                waitables += [s.ready for s in self._slots if s.ready is not None]
                restarts = [s.restart_at for s in self._slots if s.restart_at is not None]
            timeout = max(0.0, min(restarts) - time.monotonic()) if restarts else None
            ready = wait(waitables, timeout)
            if self._wake_read in ready:
                return
            with self._lock:
                if self._stopping:
                    return
                try:
                    self._check(set(ready))
                except Exception:  # keep supervising the others; a due replacement is tried again
                    log.exception("supervising the job workers failed")

    def _check(self, ready: set[Any]) -> None:
        """Note the workers that became ready or died; start the replacements due (under the lock)."""
        now = time.monotonic()
        for slot in self._slots:
            if slot.ready is not None and slot.ready in ready:
                try:
                    slot.alive = slot.ready.recv_bytes() == b"ready"
                except (EOFError, OSError):
                    pass  # it died before it was ready: its sentinel says so
                slot.ready.close()
                slot.ready = None
            if slot.process is not None and slot.process.sentinel in ready:
                self._bury(slot, now)
            if slot.restart_at is not None and slot.restart_at <= now:
                self._try_launch(slot, now)

    def _bury(self, slot: _Slot, now: float) -> None:
        """A worker ended: hand its jobs back to the queue and schedule its replacement."""
        process = slot.process
        assert process is not None
        process.join(timeout=1)
        if slot.ready is not None:
            slot.ready.close()
        slot.process, slot.ready, slot.alive = None, None, False
        lived = now - slot.started_at
        slot.quick_deaths = slot.quick_deaths + 1 if lived < QUICK_DEATH else 0
        delay = _delay(slot.quick_deaths)
        log.warning(
            "job worker %s (pid %s) ended with exit code %s after %.1f s; replacing it in %.0f s",
            slot.name,
            process.pid,
            process.exitcode,
            lived,
            delay,
        )
        try:
            self._hand_back(slot.name)
        except Exception:  # the leases then expire instead; never stop supervising
            log.exception("could not hand back the jobs of job worker %s", slot.name)
        self.replaced += 1
        slot.restart_at = now + delay

    def _hand_back(self, owner: str) -> None:
        """Queue the jobs of a dead worker again, or fail one that was running each time its worker
        died ``CRASH_LIMIT`` times: a job must not kill workers forever."""
        for job_id, attempts in self.store.held_by(owner):
            if attempts < CRASH_LIMIT:
                self.store.release(job_id, owner)
                log.warning("job %s queued again (its worker died on attempt %d)", job_id, attempts)
                continue
            error = ConversionFailed(
                f"the conversion stopped unexpectedly {attempts} times and was given up; the file may "
                "be damaged or need more memory than this server allows",
                attempts=attempts,
                crashed=True,
            )
            self.store.finish(job_id, owner, FAILED, error=error.to_dict())
            log.error("job %s failed: its worker died on each of %d attempts", job_id, attempts)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop supervising, then stop the workers (SIGTERM: each hands its running job back)."""
        with self._lock:
            self._stopping = True
            processes = [s.process for s in self._slots if s.process is not None]
        os.write(self._wake_write, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        os.close(self._wake_read)
        os.close(self._wake_write)
