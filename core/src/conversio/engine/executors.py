"""Where tasks run: in this process, or in a pool of killable worker processes."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Protocol

import attrs

from conversio.engine.task import Finished, ProgressCallback, Task, WriteCallback, execute, subject
from conversio.errors import Cancelled, ConversioError, ConversionFailed, InvalidRequest, Timeout

_POLL_SECONDS = 0.05
#: How long a worker asked to stop may take to clean up before it is killed.
_STOP_GRACE = 3.0


class CancelFlag(Protocol):
    """What tells a running task to stop (a :class:`threading.Event` is one)."""

    def is_set(self) -> bool: ...


class Executor(Protocol):
    """Runs tasks. ``run`` blocks the calling thread; several threads may call it.

    ``on_progress`` gets a task's progress reports; ``on_write``, where the executor finds it
    worth it, the name of each output the task starts to write.
    """

    #: How many tasks may run at once.
    size: int

    def run(
        self,
        task: Task,
        *,
        timeout: float,
        cancel: CancelFlag | None = None,
        on_progress: ProgressCallback | None = None,
        on_write: WriteCallback | None = None,
    ) -> Finished: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Runs tasks in the calling thread: for tests and debugging.

    A timeout cannot interrupt a running converter here; use the process pool
    wherever input is untrusted.
    """

    size = 1

    def run(
        self,
        task: Task,
        *,
        timeout: float,
        cancel: CancelFlag | None = None,
        on_progress: ProgressCallback | None = None,
        on_write: WriteCallback | None = None,
    ) -> Finished:
        if cancel is not None and cancel.is_set():
            raise Cancelled("the conversion was cancelled")
        # ``on_write`` is not passed on: hashing beside a converter in the same process only
        # competes with it for the GIL (qpdf's writing holds it); the store hashes afterwards
        return execute(task, on_progress)

    def close(self) -> None:
        pass


@attrs.define
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    tasks: int = 0

    def stop(self) -> None:
        """Ask the worker to exit (it cleans up what it started), then make sure of it."""
        try:
            self.conn.send(None)
            self.process.wait(timeout=_STOP_GRACE)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (engines it started included)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.conn.close()


class ProcessPoolExecutor:
    """A pool of long-lived worker processes, each in its own process group.

    A task that runs past its timeout, or is cancelled, gets its worker killed
    with SIGKILL (with everything it started) and the worker replaced. A
    worker is recycled after ``max_tasks`` tasks to bound leaks in engines.
    """

    def __init__(self, size: int | None = None, *, max_tasks: int = 200) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.max_tasks = max_tasks
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._started = 0
        self._closed = False

    def _spawn(self) -> _Worker:
        """Start ``python -m conversio.engine.worker`` in a new session, talking over a socket pair.

        A fresh interpreter (not a fork) never re-runs the caller's main module
        and inherits no threads or locks; it sees the caller's ``sys.path``.
        """
        parent, child = socket.socketpair()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "conversio.engine.worker", str(child.fileno())],
                pass_fds=[child.fileno()],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            child.close()
        return _Worker(process, Connection(parent.detach()))

    def _acquire(self) -> _Worker:
        while True:
            spawn = False
            with self._lock:
                if self._closed:
                    raise ConversionFailed("the worker pool is closed")
                try:
                    return self._idle.get_nowait()
                except queue.Empty:
                    if self._started < self.size:
                        self._started += 1
                        spawn = True
            if spawn:
                try:
                    return self._spawn()
                except BaseException:
                    with self._lock:
                        self._started -= 1
                    raise
            try:
                return self._idle.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        worker.tasks += 1
        if healthy and worker.tasks < self.max_tasks and not self._closed:
            self._idle.put(worker)
            return
        if healthy:
            worker.stop()
        else:
            worker.kill()
        with self._lock:
            self._started -= 1

    def run(
        self,
        task: Task,
        *,
        timeout: float,
        cancel: CancelFlag | None = None,
        on_progress: ProgressCallback | None = None,
        on_write: WriteCallback | None = None,
    ) -> Finished:
        worker = self._acquire()
        healthy = False
        try:
            worker.conn.send(task)
            deadline = time.monotonic() + timeout
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("the conversion was cancelled", converter=task.converter)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Timeout(
                        f"converting {subject(task)} to {task.target} took longer than the time limit "
                        f"of {timeout:g} s and was stopped; allow more time or send a smaller file",
                        converter=task.converter,
                        timeout=timeout,
                    )
                if not worker.conn.poll(min(_POLL_SECONDS * 4, remaining)):
                    continue
                try:
                    message = worker.conn.recv()
                except (EOFError, OSError):
                    code = _exit_code(worker.process)
                    raise ConversionFailed(
                        f"could not convert {subject(task)} to {task.target}: the converter stopped "
                        "unexpectedly; try again, and if it fails again the file may be damaged",
                        converter=task.converter,
                        exit_code=code,
                        crashed=True,
                    ) from None
                kind = message[0]
                if kind == "progress":
                    if on_progress is not None:
                        on_progress(message[1], message[2])
                    continue
                if kind == "writing":
                    if on_write is not None:
                        on_write(message[1])
                    continue
                healthy = True
                if kind == "ok":
                    result: Finished = message[1]
                    return result
                raise ConversioError.from_dict(message[1])
        finally:
            self._release(worker, healthy=healthy)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            worker.stop()


def _exit_code(process: subprocess.Popen[bytes]) -> int | None:
    try:
        return process.wait(timeout=1)
    except subprocess.TimeoutExpired:
        return None


def make_executor(kind: str | Executor, workers: int | None = None) -> Executor:
    """``"process"`` (default: a pool sized to the cores) or ``"inline"``."""
    if not isinstance(kind, str):
        return kind
    if kind == "process":
        return ProcessPoolExecutor(workers)
    if kind == "inline":
        return InlineExecutor()
    raise InvalidRequest(f"unknown executor {kind!r}; use 'process' or 'inline'", executor=kind)
