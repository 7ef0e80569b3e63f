"""A worker process: ``python -m conversio.engine.worker FD``.

Receives :class:`~conversio.engine.task.Task` objects over the connection on
file descriptor ``FD`` and answers ``("progress", fraction, message)`` and
``("writing", name)`` (an output it starts to write) any number of times, then
``("ok", Finished)`` or ``("error", {...})``.
``None`` asks it to exit.

A worker does not outlive the process that started it: when that parent dies (even by
SIGKILL, while a task runs) the worker runs its exit handlers (engines such as
LibreOffice stop and remove their temporary profiles there) and exits.
"""

from __future__ import annotations

import atexit
import logging
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from conversio.engine.task import execute, unexpected_failure
from conversio.errors import ConversioError

log = logging.getLogger("conversio.engine")

#: How often a worker checks that its parent is still alive.
PARENT_POLL_SECONDS = 0.2


def serve(conn: Connection) -> None:
    def report(fraction: float, message: str) -> None:
        conn.send(("progress", fraction, message))

    def writing(name: str) -> None:
        conn.send(("writing", name))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            with memory_cap(task.limits.max_memory):
                finished = execute(task, report, writing)
            conn.send(("ok", finished))
        except ConversioError as exc:
            conn.send(("error", exc.to_dict()))
        except BaseException:  # a worker never dies silently; the details are for the operator's log
            log.exception("converter %s failed unexpectedly in its worker", task.converter)
            conn.send(("error", unexpected_failure(task).to_dict()))


@contextmanager
def memory_cap(limit: int) -> Iterator[None]:
    """Cap this process's address space at ``limit`` bytes for the block (0: no cap).

    An engine that asks for more gets an allocation failure (Python code: a
    ``MemoryError``, reported as ``FILE_TOO_LARGE``) instead of exhausting the host.
    """
    if limit <= 0:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    capped = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (capped, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def exit_with_parent(parent: int) -> None:
    """Watch, from a daemon thread, that ``parent`` is still this process's parent; once it is
    not (it died and this worker was adopted), run the exit handlers and exit at once.

    Polling rather than ``PR_SET_PDEATHSIG``: that signal follows the parent *thread* that
    started the worker, and a server starts workers from pool threads that come and go.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        try:
            atexit._run_exitfuncs()
        finally:
            os._exit(1)

    threading.Thread(target=watch, name="conversio-parent-watch", daemon=True).start()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    exit_with_parent(os.getppid())
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
