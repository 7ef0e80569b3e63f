"""A worker process: ``python -m conversio.engine.worker FD``.

Receives :class:`~conversio.engine.task.Task` objects over the connection on
file descriptor ``FD`` and answers ``("progress", fraction, message)`` and
``("writing", name)`` (an output it starts to write) any number of times, then
``("ok", Finished)`` or ``("error", {...})``.
``None`` asks it to exit.
"""

from __future__ import annotations

import logging
import resource
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection

from conversio.engine.task import execute, unexpected_failure
from conversio.errors import ConversioError

log = logging.getLogger("conversio.engine")


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


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
