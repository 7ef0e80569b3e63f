"""The server's schema migrations (Alembic): every engine the server opens brings its database to
the newest revision (:func:`conversio_server.database.create_engine`), as ``conversio db upgrade``
does.

Revisions are the files ``versions/NNNN_<what>.py``: each one's revision id is the four digits its
name starts with, and each follows the one before (a single line, no branches). A maintainer adds
one with ``alembic -c <this folder>/alembic.ini revision --rev-id NNNN -m "what"`` (with
``--autogenerate``, compared with the database of the server's settings), written with
``alembic.op`` only, for SQLite and PostgreSQL alike (``op.batch_alter_table`` for what SQLite
cannot ``ALTER``), and changes the tables' declarations in the same commit.

A database at the head costs one query, and Alembic is imported only when there is something to
do. Upgrades run one process at a time, in one transaction (both databases roll back DDL): under a
PostgreSQL advisory lock, or SQLite's write lock (``BEGIN IMMEDIATE``). Processes that start
together upgrade once; a failed upgrade leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import attrs
import sqlalchemy as sa

from conversio.errors import MissingDependency

#: The folder of ``env.py`` and ``versions/`` (Alembic's script location).
FOLDER = Path(__file__).parent
#: The table in which Alembic records a database's revision.
VERSION_TABLE = "alembic_version"
#: Milliseconds a SQLite upgrade waits for the write lock (another process's upgrade, say).
UPGRADE_WAIT_MS = 600_000
#: The PostgreSQL advisory lock under which one process at a time upgrades (any constant).
_UPGRADE_LOCK = 0x636F6E76
_SELECT_REVISION = sa.text(f"SELECT version_num FROM {VERSION_TABLE}")


@attrs.frozen
class Upgrade:
    """What :func:`upgrade` did: the revision before (``None``: none, a new database or one made
    by a release before migrations) and after."""

    before: str | None
    after: str


@functools.cache
def revisions() -> tuple[str, ...]:
    """The revisions this release knows, oldest first (the names of the revision files)."""
    return tuple(sorted(path.name[:4] for path in FOLDER.glob("versions/[0-9][0-9][0-9][0-9]_*.py")))


def head() -> str:
    """The newest revision this release knows."""
    return revisions()[-1]


def revision(db: sa.Connection) -> str | None:
    """The revision of the database of ``db`` (``None``: none yet); one this release does not know
    is refused."""
    if not sa.inspect(db).has_table(VERSION_TABLE):
        return None
    return _known(db.execute(_SELECT_REVISION).scalar())


def upgrade(engine: sa.Engine) -> Upgrade:
    """Bring the database of ``engine`` to the head revision; a revision this release does not know
    (a newer release upgraded the database) is refused with ``MISSING_DEPENDENCY``."""
    with engine.connect() as db:
        try:
            found = _known(db.execute(_SELECT_REVISION).scalar())
        except sa.exc.DBAPIError:
            found = None  # no revision table yet: looked at again under the lock
    if found == head():
        return Upgrade(found, found)
    with _upgrade_lock(engine) as db:
        before = revision(db)
        if before != head():
            _run_alembic(db)
    return Upgrade(before, head())


def _known(found: str | None) -> str | None:
    if found is not None and found not in revisions():
        raise MissingDependency(
            f"the database is at schema revision {found}, which this conversio-server does not know "
            f"(its newest is {head()}): a newer release has upgraded it; run that release here too",
            revision=found,
            head=head(),
            install_hint="pip install --upgrade conversio-server",
        )
    return found


@contextlib.contextmanager
def _upgrade_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction that holds the database's upgrade lock, committed on success."""
    with engine.connect() as db:
        if engine.dialect.name != "sqlite":
            db.execute(sa.select(sa.func.pg_advisory_xact_lock(_UPGRADE_LOCK)))
            yield db
            db.commit()
            return
        # Foreign keys off while upgrading: dropping a table that op.batch_alter_table rebuilds would
        # otherwise delete the rows that refer to it (the setting cannot change inside a transaction).
        saved = {
            name: db.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("foreign_keys", "busy_timeout")
        }
        db.exec_driver_sql("PRAGMA foreign_keys=OFF")
        db.exec_driver_sql(f"PRAGMA busy_timeout={UPGRADE_WAIT_MS}")
        try:
            db.exec_driver_sql("BEGIN IMMEDIATE")
            yield db
            db.commit()
        finally:
            db.rollback()
            for name, value in saved.items():
                db.exec_driver_sql(f"PRAGMA {name}={value}")


def _run_alembic(db: sa.Connection) -> None:
    """Run the revisions after the database's on ``db``, in its transaction (see ``env.py``)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(FOLDER))
    config.attributes["connection"] = db
    command.upgrade(config, "head")
