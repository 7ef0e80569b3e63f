"""Where tasks run: in this process, or in a pool of killable worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection, wait
from typing import Protocol

import attrs

from conversio.engine.task import Finished, ProgressCallback, Task, WriteCallback, execute, subject
from conversio.errors import Cancelled, ConversioError, ConversionFailed, InvalidRequest, Timeout

_POLL_SECONDS = 0.05
#: How often a pool that could not start a worker tries again while idle.
_RETRY_SECONDS = 5.0
#: How long a worker asked to stop may take to clean up before it is killed.
_STOP_GRACE = 3.0
#: Workers tried for one task when each dies just as it is handed the task.
_HAND_ATTEMPTS = 3


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

    def health(self) -> PoolHealth:
        """Whether tasks can run now, and how many worker processes run."""
        ...

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

    def health(self) -> PoolHealth:
        return PoolHealth(size=1, running=1)

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


@attrs.frozen
class PoolHealth:
    """What an executor can do now: ``ok`` unless it is closed or cannot start its workers."""

    #: How many tasks may run at once, and how many worker processes run now (idle or busy).
    size: int
    running: int
    closed: bool = False
    #: Why the last worker could not be started (cleared by the next start that works).
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return not self.closed and self.failure is None


class ProcessPoolExecutor:
    """A pool of long-lived worker processes, each in its own process group.

    A task that runs past its timeout, or is cancelled, gets its worker killed
    with SIGKILL (with everything it started) and the worker replaced. A
    worker is recycled after ``max_tasks`` tasks to bound leaks in engines.
    Workers start when tasks need them; an idle worker that dies (killed, out
    of memory) is noticed at once by a watcher thread and replaced, so no task
    is ever given a dead worker. ``env``: variables workers get on top of this
    process's environment.
    """

    def __init__(
        self, size: int | None = None, *, max_tasks: int = 200, env: Mapping[str, str] | None = None
    ) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.max_tasks = max_tasks
        self.env = dict(env or {})
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a worker became idle, or a place free
        self._started = 0
        self._closed = False
        self._failure: str | None = None
        self._watcher: threading.Thread | None = None
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    def health(self) -> PoolHealth:
        with self._lock:
            return PoolHealth(self.size, self._started, self._closed, self._failure)

    def _spawn(self) -> _Worker:
        """Start ``python -m conversio.engine.worker`` in a new session, talking over a socket pair.

        A fresh interpreter (not a fork) never re-runs the caller's main module
        and inherits no threads or locks; it sees the caller's ``sys.path``.
        Called with a place reserved in ``_started``, given back when the start fails.
        """
        with self._lock:  # the watcher also retries starts that fail
            if self._watcher is None and not self._closed:
                self._watcher = threading.Thread(
                    target=self._watch, name="conversio-pool-watcher", daemon=True
                )
                self._watcher.start()
        parent, child = socket.socketpair()
        env = {**os.environ, **self.env, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "conversio.engine.worker", str(child.fileno())],
                pass_fds=[child.fileno()],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        except BaseException as exc:
            parent.close()
            with self._changed:
                self._started -= 1
                self._failure = f"{type(exc).__name__}: {exc}"
                self._changed.notify()
                if not self._closed:
                    self._poke()  # the watcher tries again in a while
            raise
        finally:
            child.close()
        with self._lock:
            self._failure = None
        return _Worker(process, Connection(parent.detach()))

    def _acquire(self) -> _Worker:
        """An idle worker that is alive, or a new one while there is room; waits for one otherwise."""
        broken: list[_Worker] = []
        try:
            with self._changed:
                while True:
                    if self._closed:
                        raise ConversionFailed("the worker pool is closed")
                    while self._idle:
                        worker = self._idle.pop()
                        if not worker.conn.poll(0):  # an idle worker says nothing unless it died
                            return worker
                        broken.append(worker)
                        self._started -= 1
                    if self._started < self.size:
                        self._started += 1
                        break
                    self._changed.wait()
        finally:
            for worker in broken:
                worker.kill()
        return self._spawn()

    def _handed(self, task: Task) -> _Worker:
        """A worker that took ``task``: one that dies between being found alive and being handed the
        task (its pipe broken) is replaced, up to a few times."""
        for _attempt in range(_HAND_ATTEMPTS):
            worker = self._acquire()
            try:
                worker.conn.send(task)
                return worker
            except OSError:
                self._release(worker, healthy=False)
        raise ConversionFailed(
            f"could not convert {subject(task)} to {task.target}: no worker process stayed alive "
            "to take it; try again",
            converter=task.converter,
            crashed=True,
        )

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        worker.tasks += 1
        with self._changed:
            if healthy and worker.tasks < self.max_tasks and not self._closed:
                self._idle.append(worker)
                self._changed.notify()
                self._poke()  # the watcher watches it from now on
                return
        if healthy:
            worker.stop()
        else:
            worker.kill()
        with self._changed:
            self._started -= 1
            self._changed.notify()

    def _watch(self) -> None:
        """Replace idle workers that die: an idle worker's connection turns readable only at its end
        (or when it misbehaves, and it is replaced as well). ``run`` reads every message of a task
        before the worker is idle again, so a message in flight is never taken for an end."""
        while True:
            with self._lock:
                if self._closed:
                    return
                watched = [w.conn for w in self._idle]
                retry = self._failure is not None
            ready = wait([*watched, self._wake_read], _RETRY_SECONDS if retry else None)
            if self._wake_read in ready:
                os.read(self._wake_read, 4096)
            if retry and not ready:
                self._replace()
            broken: list[_Worker] = []
            with self._changed:
                for worker in list(self._idle):
                    if worker.conn in ready and worker.conn.poll(0):
                        self._idle.remove(worker)
                        self._started -= 1
                        broken.append(worker)
            for worker in broken:
                worker.kill()
                self._replace()

    def _replace(self) -> None:
        """Start an idle worker in place of one that died, unless the place was taken meanwhile."""
        with self._changed:
            if self._closed or self._started >= self.size:
                return
            self._started += 1
        try:
            worker = self._spawn()
        except Exception:
            return  # reported by health(); tried again by the watcher, or by the next task
        with self._changed:
            self._idle.append(worker)
            self._changed.notify()

    def run(
        self,
        task: Task,
        *,
        timeout: float,
        cancel: CancelFlag | None = None,
        on_progress: ProgressCallback | None = None,
        on_write: WriteCallback | None = None,
    ) -> Finished:
        worker = self._handed(task)
        healthy = False
        try:
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
        with self._changed:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            watcher = self._watcher
            self._changed.notify_all()
        self._poke()
        if watcher is not None:
            watcher.join(timeout=5)
        if watcher is None or not watcher.is_alive():
            os.close(self._wake_read)
            os.close(self._wake_write)
        for worker in idle:
            worker.stop()

    def _poke(self) -> None:
        """Wake the watcher: the idle workers changed, or the pool closes."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_write, b".")


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
