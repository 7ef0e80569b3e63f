"""A real PostgreSQL server for tests and benchmarks: ``initdb`` into a temporary folder, ``pg_ctl
start`` listening on a Unix socket in that folder only (no TCP port, so concurrent test runs never
collide), thrown away at the end.

The binaries come from ``PATH`` or Debian's ``/usr/lib/postgresql/<version>/bin`` (the ``postgresql``
package the server's ``pyproject.toml`` declares). ``initdb`` refuses to run as root, so as root the
cluster is made and run by the unprivileged user ``nobody`` (``runuser -u nobody``): the folder is
made outside pytest's private ``tmp_path`` and given to that user. Durability is off (``fsync``,
``synchronous_commit``, ``full_page_writes``): a test cluster never outlives a crash.

Every test gets a database of its own (``CREATE DATABASE``, about a quarter of a second), dropped
afterwards with whatever connections are still open on it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs

#: The unprivileged user that runs the cluster when the tests run as root.
UNPRIVILEGED = "nobody"
#: The cluster's superuser (``trust`` authentication: only this machine's users reach the socket).
SUPERUSER = "postgres"
#: Seconds ``pg_ctl`` waits for the server to accept connections (or to stop).
START_TIMEOUT = 30


def find_binaries() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: from ``PATH``, else the newest Debian version's."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1].parent if versions else None


def _as_cluster_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", UNPRIVILEGED, "--", *command] if os.geteuid() == 0 else command


@attrs.define
class PostgresServer:
    """A running cluster: its socket folder ``home`` and data folder; :meth:`url` of a database."""

    bin: Path
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def url(self, database: str = SUPERUSER) -> str:
        """The SQLAlchemy URL of ``database`` (over the Unix socket, as the superuser)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.home}"

    @property
    def _wait(self) -> tuple[str, ...]:
        """``pg_ctl``'s bounded wait for the server to be ready (or gone)."""
        return ("-w", "-t", str(START_TIMEOUT))

    def _run(self, *command: str) -> None:
        done = subprocess.run(
            _as_cluster_user([str(self.bin / command[0]), *command[1:]]),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT + 10,
            check=False,
        )
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()}\n{log}")

    def start(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--locale=C.UTF-8", "--no-sync"
        )
        options = [
            "-c listen_addresses=''",
            f"-k {self.home}",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off",
            "-c max_connections=300",
        ]
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), *self._wait, "-o", " ".join(options), "start"
        )

    def stop(self) -> None:
        """Stop at once (nothing here needs to survive) and remove every file."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", *self._wait, "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = "test_" + secrets.token_hex(6)
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing the connections still open on it."""
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(dbname=SUPERUSER, user=SUPERUSER, host=str(self.home), autocommit=True) as db:
            db.execute(statement)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A fresh cluster, stopped and removed on the way out (after a failure too).

    Raises ``LookupError`` when PostgreSQL is not installed.
    """
    binaries = find_binaries()
    if binaries is None:
        raise LookupError("PostgreSQL is not installed (initdb and pg_ctl; Debian's postgresql package)")
    # short (a socket path has at most 107 bytes) and outside pytest's tmp folder (private to root)
    home = Path(tempfile.mkdtemp(prefix="conversio-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, UNPRIVILEGED)
    server = PostgresServer(binaries, home)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def fresh_database(server: PostgresServer) -> Iterator[str]:
    """The URL of a new database of ``server``, dropped on the way out."""
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)
