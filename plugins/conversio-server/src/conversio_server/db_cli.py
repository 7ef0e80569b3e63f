"""``conversio db upgrade | current``: the schema revision of the server's database.

The database is the one ``conversio serve`` and ``conversio worker`` would open: ``--database``,
else the one in ``--data-dir``, else ``$CONVERSIO_SERVER_DATABASE_URL``, else the default data
folder's. SQLAlchemy and Alembic load only when a command runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conversio.cli import handles_errors

if TYPE_CHECKING:
    import sqlalchemy as sa

Command = TypeVar("Command", bound=Callable[..., Any])


def _database_options(command: Command) -> Command:
    """``--data-dir`` and ``--database`` (which wins), as ``conversio worker`` takes them."""
    command = click.option(
        "--database", "database_url", help="Database URL (default: the server's, in its data folder)."
    )(command)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The server's store and database folder (as `conversio serve --data-dir`).",
    )(command)


def _engine(database_url: str | None, data_dir: Path | None) -> sa.Engine:
    """An engine on the server's database, its schema left as it is."""
    from conversio_server.database import create_engine
    from conversio_server.settings import ServerSettings

    settings = ServerSettings.load(None, database_url=database_url, data_dir=data_dir)
    return create_engine(settings.database_url, upgrade=False)


def _shown(engine: sa.Engine) -> str:
    """The database's URL without its password."""
    return engine.url.render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """Upgrade the schema of the server's database, or show its revision."""


@db.command()
@_database_options
@handles_errors
def upgrade(database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Bring the database to the newest schema revision (the server does this at start, too)."""
    from conversio_server import migrations

    engine = _engine(database_url, data_dir)
    try:
        done = migrations.upgrade(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps({"database": _shown(engine), "from": done.before, "to": done.after}))
    elif done.before == done.after:
        click.echo(f"{_shown(engine)}: at revision {done.after}, the newest; nothing to do")
    else:
        click.echo(f"{_shown(engine)}: upgraded from revision {done.before or 'none'} to {done.after}")


@db.command()
@_database_options
@handles_errors
def current(database_url: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Show the database's schema revision and whether it is the newest."""
    from conversio_server import migrations

    engine = _engine(database_url, data_dir)
    try:
        with engine.connect() as connection:
            found = migrations.revision(connection)
    finally:
        engine.dispose()
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
