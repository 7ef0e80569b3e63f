"""The server's SQL database: one engine factory and one ``MetaData`` for every table.

SQLite is the embedded default (``sqlite:///<data dir>/server.sqlite3``), opened in WAL mode
with ``synchronous=FULL`` (a committed transaction survives a power cut) and a busy timeout,
so that several processes (the server, workers, webhook dispatchers) can share the file.
Any other SQLAlchemy URL (``postgresql+psycopg://…``) works without code changes: the
modules that own tables write portable SQL (conditional ``UPDATE``\\s for claims, no
SQLite-only syntax).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

#: Every table of the server (keys, usage, webhook deliveries, …) is declared on this.
metadata = sa.MetaData()

#: Milliseconds a SQLite connection waits for another writer before giving up.
BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(database_url: str) -> sa.Engine:
    """An engine for ``database_url`` (the folder of a SQLite file is created), with every table created.

    Creating tables is idempotent; the tables are those of the modules imported so far.
    """
    url = sa.engine.make_url(database_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and url.database not in (None, "", ":memory:"):
        Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    if sqlite:
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite gives back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
