"""``conversio db upgrade | current``: the schema revision of the server's database.

The database is the one ``conversio serve`` and ``conversio worker`` would open, found as
``conversio keys`` finds it: ``--database``, else the one in ``--data-dir``, else
``$CONVERSIO_SERVER_DATABASE_URL``, else the default data folder's. SQLAlchemy and Alembic load
only when a command runs.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from conversio.cli import handles_errors
from conversio_server.keys_cli import _database_options, _database_url

if TYPE_CHECKING:
    import sqlalchemy as sa


@contextlib.contextmanager
def _opened(database: str | None, data_dir: Path | None) -> Iterator[sa.Engine]:
    """An engine on the server's database, its schema left as it is; disposed of on the way out."""
    from conversio_server.database import create_engine, reaching

    engine = create_engine(_database_url(database, data_dir), upgrade=False)
    try:
        with reaching():
            yield engine
    finally:
        engine.dispose()


def _shown(engine: sa.Engine) -> str:
    """The database's URL without its password."""
    return engine.url.render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """Upgrade the schema of the server's database, or show its revision."""


@db.command()
@_database_options
@handles_errors
def upgrade(database: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Bring the database to the newest schema revision (the server does this at start, too)."""
    from conversio_server import migrations

    with _opened(database, data_dir) as engine:
        done = migrations.upgrade(engine)
    if as_json:
        click.echo(json.dumps({"database": _shown(engine), "from": done.before, "to": done.after}))
    elif done.before == done.after:
        click.echo(f"{_shown(engine)}: at revision {done.after}, the newest; nothing to do")
    else:
        click.echo(f"{_shown(engine)}: upgraded from revision {done.before or 'none'} to {done.after}")


@db.command()
@_database_options
@handles_errors
def current(database: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Show the database's schema revision and whether it is the newest."""
    from conversio_server import migrations

    with _opened(database, data_dir) as engine, engine.connect() as connection:
        found = migrations.revision(connection)
    head = migrations.head()
    if as_json:
        click.echo(json.dumps({"database": _shown(engine), "revision": found, "head": head}))
    elif found == head:
        click.echo(f"{_shown(engine)}: revision {found} (head)")
    else:
        click.echo(
            f"{_shown(engine)}: revision {found or 'none'}, not the head ({head}): "
            "`conversio db upgrade` or the server's start upgrades it"
        )
