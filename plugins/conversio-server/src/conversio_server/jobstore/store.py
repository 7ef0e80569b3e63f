"""The :class:`JobStore`: the jobs of one database, with the calls of both sides on them."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from conversio_server.database import create_engine, create_tables
from conversio_server.jobstore.client_side import ClientSide
from conversio_server.jobstore.worker_side import WorkerSide
from conversio_server.outbox import Outbox


class JobStore(ClientSide, WorkerSide):
    """The jobs of the database at ``database`` (a URL or an engine); safe from several processes."""

    def __init__(
        self,
        database: str | sa.Engine,
        outbox: Outbox | None = None,
        *,
        wake_path: Path | None = None,
        wake_workers: Path | None = None,
    ) -> None:
        """``wake_path``: the socket of the webhook dispatcher to wake when events are enqueued (a worker's
        dispatcher lives in the server's process); ``wake_workers``: the folder of the sockets of the job
        workers to wake when a job is queued."""
        self._owns_engine = isinstance(database, str)
        self.engine = create_engine(database) if isinstance(database, str) else database
        if not self._owns_engine:
            create_tables(self.engine)
        self.outbox = outbox if outbox is not None else Outbox(self.engine, wake_path)
        self.wake_workers = wake_workers

    def close(self) -> None:
        if self._owns_engine:
            self.engine.dispose()
