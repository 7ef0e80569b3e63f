"""Every table of the server on one ``MetaData``: import :data:`metadata` from here wherever the
whole schema is needed (the migrations, their tests); each table is declared by the module that
uses it, on :data:`conversio_server.database.metadata`, and that module is imported here."""

from __future__ import annotations

# the modules that declare tables, imported for that
from conversio_server import fleet, keys, ownership, signing  # noqa: F401
from conversio_server.database import metadata
from conversio_server.jobstore import tables as job_tables  # noqa: F401
from conversio_server.outbox import tables as outbox_tables  # noqa: F401

__all__ = ["metadata"]
