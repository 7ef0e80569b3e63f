"""How Alembic runs the server's revisions: on the connection the server hands it, inside the
transaction that holds the upgrade lock (:func:`conversio_server.migrations.upgrade`), or, for a
maintainer's ``alembic`` command, on the database of the server's settings."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from conversio_server.schema import metadata


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on_settings_database() -> None:
    from conversio_server.database import create_engine
    from conversio_server.settings import ServerSettings

    engine = create_engine(ServerSettings.load().database_url, upgrade=False)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


given = context.config.attributes.get("connection")
if given is None:
    _run_on_settings_database()
else:
    _run(given)
