"""Hook implementations of conversio-server, and nothing else.

Imported whenever conversio starts: it adds the ``serve``, ``worker`` and ``db`` commands (and the
key management commands when present) and imports neither FastAPI nor uvicorn; they load when a
command runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from conversio.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    from conversio_server.cli import serve, worker
    from conversio_server.db_cli import db

    cli.add_command(serve)
    cli.add_command(worker)
    cli.add_command(db)
    try:  # key management lives in its own module (``conversio keys``)
        keys_cli = importlib.import_module("conversio_server.keys_cli")
    except ImportError:
        return
    command = getattr(keys_cli, "keys", None)
    if command is not None:
        cli.add_command(command)
