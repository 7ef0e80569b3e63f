"""The server's database engines on a real PostgreSQL: the plain ``postgresql://`` URL, pooled
connections that survive a restarted database (processes that start together: test_migrations)."""

from __future__ import annotations

import sqlalchemy as sa
from conversio_server.database import create_engine, parse_url
from conversio_server.keys import KeyStore


def test_a_plain_postgresql_url_means_psycopg(postgres_url: str) -> None:
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert parse_url(plain).drivername == "postgresql+psycopg"
    assert parse_url("sqlite:///x.sqlite3").drivername == "sqlite"
    with KeyStore(plain) as keys:
        record, plaintext = keys.create("ci", "read", "free")
        assert keys.authenticate(plaintext) == record


def test_a_connection_the_database_dropped_is_replaced(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as db:
            pid = db.execute(sa.select(sa.func.pg_backend_pid())).scalar_one()
        other = sa.create_engine(postgres_url)
        with other.connect() as admin:
            admin.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        other.dispose()
        with engine.connect() as db:  # the pooled connection is dead: checked, and replaced
            assert db.execute(sa.select(sa.func.pg_backend_pid())).scalar_one() != pid
    finally:
        engine.dispose()
