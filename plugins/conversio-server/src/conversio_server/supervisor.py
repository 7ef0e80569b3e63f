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

Stopping drains (:meth:`JobWorkerSupervisor.drain`, at the server's first SIGTERM or SIGINT): each worker
gets a SIGTERM, claims nothing more and lets its running jobs finish for up to ``job_drain_timeout``
seconds, then hands the rest back; none is replaced any more. :meth:`~JobWorkerSupervisor.hand_back` (the
server's second signal) sends another SIGTERM: the jobs go back at once. A worker still running
``EXIT_GRACE`` seconds after its drain is killed and its jobs handed back by the supervisor.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import secrets
import signal
import threading
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

import attrs

from conversio.errors import ConversionFailed
from conversio_server.fleet import Fleet
from conversio_server.jobstore import FAILED, JobStore
from conversio_server.settings import ServerSettings

if TYPE_CHECKING:
    from conversio_server.worker import Worker

log = logging.getLogger("conversio_server.supervisor")

#: The attempt on which a job whose worker died fails instead of being queued again.
CRASH_LIMIT = 3
#: A worker that ends sooner than this after its start counts as a failed start.
QUICK_DEATH = 10.0
#: The longest wait before replacing a worker that keeps failing to start.
MAX_DELAY = 60.0
#: Seconds a draining worker may take beyond ``job_drain_timeout`` to hand its jobs back and exit.
EXIT_GRACE = 10.0
#: Seconds between the two SIGTERMs of a worker told to drain and hand back at once (the second must
#: not arrive before the first is handled, or the two count as one).
SIGNAL_GAP = 0.1


def _portable(settings: ServerSettings) -> dict[str, Any]:
    """The settings as picklable values (the key configuration is rebuilt from them in the child)."""
    values = attrs.asdict(settings, recurse=False)
    values.pop("auth")
    return values


def _run_supervised(values: dict[str, Any], name: str, ready: Connection) -> None:
    """The body of a supervised worker: tell the supervisor once it claims jobs, run until SIGTERM (which
    drains, a second hands back at once) or until the server is gone (even SIGKILLed: then its running
    jobs are handed back at once). SIGINT is ignored: Ctrl-C reaches every process of the terminal, and
    the server, which gets it too, drains its workers."""
    from conversio_server.worker import Worker, run_worker

    def report_ready() -> None:
        ready.send_bytes(b"ready")
        ready.close()

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = Worker(ServerSettings(**values), name=name)
    threading.Thread(target=_abandon_with_parent, args=(worker,), name="parent-watch", daemon=True).start()
    run_worker(worker, on_ready=report_ready, signals=(signal.SIGTERM,))


def _abandon_with_parent(worker: Worker) -> None:
    """Wait for the server's end (its sentinel), then hand the worker's jobs back and stop it."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        worker.abandon()


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
    signals: int = 0  # SIGTERMs sent to the process in it: 1 drains it, 2 hand its jobs back


class JobWorkerSupervisor:
    """``count`` job worker processes, each replaced as soon as it dies (see the module's text)."""

    def __init__(self, settings: ServerSettings, count: int, store: JobStore) -> None:
        self.settings, self.count, self.store = settings, count, store
        self._context = multiprocessing.get_context("spawn")
        self._slots = [_Slot(i) for i in range(count)]
        self._lock = threading.Lock()
        self._stopping = False
        self._level = 0  # the SIGTERMs every worker is to get: 1 once draining, 2 once handing back
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)  # written from signal handlers: never blocks
        self.fleet = Fleet(store.engine)
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

    def drain(self) -> None:
        """Drain every worker (a SIGTERM each, sent by the supervising thread); replace none any more.
        Returns at once; safe in a signal handler."""
        self._ask(1)

    def hand_back(self) -> None:
        """Make every worker hand its running jobs back at once (a second SIGTERM). Returns at once."""
        self._ask(2)

    def _ask(self, level: int) -> None:
        self._level = max(self._level, level)
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed (stopped)
            os.write(self._wake_write, b"x")

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
        slot.ready, slot.alive, slot.restart_at, slot.signals = receiving, False, None, 0
        slot.started_at = time.monotonic()

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._send_signals()
                waitables: list[Any] = [self._wake_read]
                waitables += [s.process.sentinel for s in self._slots if s.process is not None]
                waitables += [s.ready for s in self._slots if s.ready is not None]
                restarts = [s.restart_at for s in self._slots if s.restart_at is not None]
                owed = any(s.process is not None and s.signals < self._level for s in self._slots)
            timeout = max(0.0, min(restarts) - time.monotonic()) if restarts else None
            if owed:
                timeout = SIGNAL_GAP
            ready = wait(waitables, timeout)
            if self._wake_read in ready:
                os.read(self._wake_read, 4096)
            with self._lock:
                if self._stopping:
                    return
                try:
                    self._check(set(ready))
                except Exception:  # keep supervising the others; a due replacement is tried again
                    log.exception("supervising the job workers failed")

    def _send_signals(self) -> None:
        """Send each worker one SIGTERM it is owed (under the lock; the next after ``SIGNAL_GAP``)."""
        for slot in self._slots:
            if slot.process is not None and slot.signals < self._level:
                slot.process.terminate()
                slot.signals += 1

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
            if slot.restart_at is not None and slot.restart_at <= now and not self._level:
                self._try_launch(slot, now)

    def _bury(self, slot: _Slot, now: float) -> None:
        """A worker ended: hand its jobs back to the queue and, unless draining, schedule its replacement."""
        process = slot.process
        assert process is not None
        process.join(timeout=1)
        if slot.ready is not None:
            slot.ready.close()
        slot.process, slot.ready, slot.alive = None, None, False
        lived = now - slot.started_at
        try:
            self._hand_back(slot.name)
            self.fleet.leave(slot.name)
        except Exception:  # the leases then expire instead; never stop supervising
            log.exception("could not hand back the jobs of job worker %s", slot.name)
        if self._level:
            log.info(
                "job worker %s (pid %s) stopped with exit code %s", slot.name, process.pid, process.exitcode
            )
            return
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

    def stop(self) -> None:
        """Drain the workers (:meth:`drain`) and wait until they exit; kill those still running
        ``EXIT_GRACE`` seconds after the drain time and hand their jobs back."""
        self.drain()
        with self._lock:
            processes = [s.process for s in self._slots if s.process is not None]
        deadline = time.monotonic() + self.settings.job_drain_timeout + EXIT_GRACE
        running = [p.sentinel for p in processes]  # waited for, not reaped: the watching thread buries
        while running and (left := deadline - time.monotonic()) > 0:
            ended = wait(running, left)
            running = [s for s in running if s not in ended]
        with self._lock:
            self._stopping = True
        with contextlib.suppress(BlockingIOError):  # a wake-up is pending already
            os.write(self._wake_write, b"x")
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for slot in self._slots:  # the watching thread is gone: those it did not bury
            if slot.process is None:
                continue
            if slot.process.is_alive():
                log.warning("job worker %s did not stop in time; killing it", slot.name)
                slot.process.kill()
            slot.process.join(5)
            try:  # its jobs are not to blame: queued again, however often this happened
                for job_id, _ in self.store.held_by(slot.name):
                    self.store.release(job_id, slot.name)
                self.fleet.leave(slot.name)
            except Exception:  # the leases then expire instead
                log.exception("could not hand back the jobs of job worker %s", slot.name)
        os.close(self._wake_read)
        os.close(self._wake_write)
