"""The server's SQL database: one engine factory and one ``MetaData`` for every table.

SQLite is the embedded default (``sqlite:///<data dir>/server.sqlite3``), opened in WAL mode
with ``synchronous=FULL`` (a committed transaction survives a power cut) and a busy timeout,
so that several processes (the server, workers, webhook dispatchers) can share the file.

The schema is Alembic's (:mod:`conversio_server.migrations`): every engine brings its database to
the newest revision when it is made, at the cost of one query when it is there already.

PostgreSQL (``postgresql+psycopg://user:password@host/database``, or ``postgresql://…``, which
means the same driver: psycopg 3, the ``postgres`` extra) is for several hosts sharing one
database. Its connections are checked before use (a restarted database or a cut idle
connection costs a reconnect, not an error) and recycled every half hour. The modules that own
tables write one portable statement for both where they can; claims lock rows ``FOR UPDATE SKIP
LOCKED``, which SQLAlchemy leaves out on SQLite, whose write lock already serializes them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from conversio.errors import StoreUnavailable
from conversio_server import migrations

#: Every table of the server (keys, usage, webhook deliveries, …) is declared on this; all of them:
#: :mod:`conversio_server.schema`.
metadata = sa.MetaData()

#: Milliseconds a SQLite connection waits for another writer before giving up.
BUSY_TIMEOUT_MS = 10_000
#: PostgreSQL connections an engine keeps open, and how many more it opens under load; every
#: process has a few engines, so a host's share of the server's ``max_connections`` stays small.
POOL_SIZE, POOL_OVERFLOW = 5, 10
#: Seconds after which a PostgreSQL connection is replaced (before a firewall or proxy cuts it).
POOL_RECYCLE = 1800


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def parse_url(value: str) -> sa.URL:
    """``value`` as a SQLAlchemy URL; ``postgresql://`` is given its driver, psycopg 3."""
    url = sa.engine.make_url(value)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def create_engine(database_url: str, *, upgrade: bool = True) -> sa.Engine:
    """An engine for ``database_url`` (the folder of a SQLite file is created), its database brought
    to the newest schema unless ``upgrade`` is false."""
    url = parse_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database not in (None, "", ":memory:"):
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(
            url,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
            pool_recycle=POOL_RECYCLE,
        )
    if upgrade:
        create_tables(engine)
    return engine


def create_tables(engine: sa.Engine) -> None:
    """Create or upgrade the tables of the database of ``engine`` to the newest revision (one query
    when they are there already); see :func:`conversio_server.migrations.upgrade`."""
    with reaching():
        migrations.upgrade(engine)


@contextlib.contextmanager
def reaching() -> Iterator[None]:
    """``STORE_UNAVAILABLE`` for a database that cannot be reached or refuses the connection, in the
    user's terms (the driver's message names hosts, sockets and users)."""
    try:
        yield
    except sa.exc.OperationalError:
        raise StoreUnavailable(
            "the server's database cannot be reached or refused the connection: check database_url"
            " (CONVERSIO_SERVER_DATABASE_URL, --database) and that the database is running"
        ) from None


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite gives back naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
