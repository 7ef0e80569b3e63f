"""A worker process: ``python -m conversio.engine.worker FD``.

Receives :class:`~conversio.engine.task.Task` objects over the connection on
file descriptor ``FD`` and answers ``("progress", fraction, message)`` any
number of times, then ``("ok", [Produced, ...])`` or ``("error", {...})``.
``None`` asks it to exit.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection

from conversio.engine.task import execute
from conversio.errors import ConversioError, ConversionFailed


def serve(conn: Connection) -> None:
    def report(fraction: float, message: str) -> None:
        conn.send(("progress", fraction, message))

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        try:
            conn.send(("ok", execute(task, report)))
        except ConversioError as exc:
            conn.send(("error", exc.to_dict()))
        except BaseException as exc:  # a worker never dies silently
            conn.send(("error", ConversionFailed(f"{task.converter} failed: {exc!r}").to_dict()))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    serve(Connection(int(sys.argv[1])))


if __name__ == "__main__":
    main()
