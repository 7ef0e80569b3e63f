"""Several hosts on one machine, for the benchmarks: a database and a store shared by an API node
(``conversio serve``) and job workers (``conversio worker``), each a process of its own; and what
the database and the store are asked is counted by :mod:`bench.counting`.

Two kinds of deployment: PostgreSQL + an S3 server (moto's, or SeaweedFS, a real object server;
in its own process), where every
process has a data folder of its own, as on hosts of their own; and SQLite + a filesystem store,
which only one host can share, so the workers use the API node's data folder. Every process runs
on 127.0.0.1 from this interpreter and is stopped at the end, each wait bounded.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from bench.common import start_server
from bench.counting import Commits, Requests, Statements, child_running

#: The bucket of the S3 deployment.
BUCKET = "conversio-bench"
#: Seconds a process gets to start answering (or to stop) before the benchmark gives up on it.
START_TIMEOUT, STOP_TIMEOUT = 60.0, 30.0


#: What a PostgreSQL + S3 deployment needs in this interpreter, and where it comes from.
_NEEDS = {
    "psycopg": "conversio-server's postgres extra",
    "conversio_s3": "the conversio-s3 plugin",
    "moto": "conversio-server's test extra",
}


def postgres_missing() -> str | None:
    """Why a PostgreSQL + S3 deployment cannot run here (``None``: it can)."""
    from conversio_server.testing import find_binaries

    for module, source in _NEEDS.items():
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({source})"
    if find_binaries() is None:
        return "PostgreSQL is not installed (initdb and pg_ctl; Debian's postgresql package)"
    return None


@attrs.frozen
class Backend:
    """Where a deployment keeps jobs and files; ``None`` URLs: the API node's data folder's defaults."""

    name: str
    database_url: str | None = None
    store_url: str | None = None
    statements: Statements | None = None
    commits: Commits | None = None
    requests: Requests | None = None
    #: The process ids of the database's and the store's servers, by name.
    servers: dict[str, int] = attrs.field(factory=dict)

    @property
    def shared(self) -> bool:
        """Whether only one host can share it (the workers then use the API node's data folder)."""
        return self.database_url is None


SQLITE = Backend("SQLite + filesystem")


#: The S3 servers a deployment can run on: the marker of the server's process in its command line.
S3_SERVERS = {"moto": "moto.server", "seaweedfs": "weed"}


@contextlib.contextmanager
def postgres_and_s3(work: Path, s3_server: str = "moto") -> Iterator[Backend]:
    """A fresh PostgreSQL cluster (counting statements) and a local S3 server: moto's (recording
    requests) or SeaweedFS (which records none)."""
    import sqlalchemy as sa
    from conversio_s3.testing import local_object_server, local_s3_buckets, local_s3_server
    from conversio_server.testing import fresh_database, running_postgres

    log = work / "s3-requests.jsonl"
    os.environ["MOTO_RECORDER_FILEPATH"] = str(log)  # read by moto's server as it starts
    moto = s3_server == "moto"
    serving = local_s3_server if moto else local_object_server
    try:
        with running_postgres() as server, local_s3_buckets(BUCKET, server=serving) as endpoint:
            _instrument(server)
            with fresh_database(server) as url:
                name = str(sa.engine.make_url(url).database)
                statements = Statements(server.home, name)
                postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
                servers = {"PostgreSQL": postmaster, "S3 server": child_running(S3_SERVERS[s3_server])}
                yield Backend(
                    f"PostgreSQL + S3 ({s3_server})",
                    database_url=url,
                    store_url=f"s3://{BUCKET}/conversio?endpoint={endpoint}&path_style=1",
                    statements=statements,
                    commits=Commits(server.home, name),
                    requests=Requests(endpoint, log) if moto else None,
                    servers=servers,
                )
    finally:
        os.environ.pop("MOTO_RECORDER_FILEPATH", None)


def _instrument(server: Any) -> None:
    """Restart ``server`` with ``pg_stat_statements`` loaded (it must be preloaded) and logical
    decoding on (for :class:`Commits`)."""
    import psycopg

    with psycopg.connect(host=str(server.home), user="postgres", dbname="postgres", autocommit=True) as db:
        db.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        db.execute("ALTER SYSTEM SET wal_level = 'logical'")
    command = [str(server.bin / "pg_ctl"), "-D", str(server.data), "-l", str(server.log)]
    command += ["-w", "-t", str(int(START_TIMEOUT)), "-m", "fast", "restart"]
    if os.geteuid() == 0:  # the cluster belongs to the unprivileged user (see conversio_server.testing)
        from conversio_server.testing import UNPRIVILEGED

        command = ["runuser", "-u", UNPRIVILEGED, "--", *command]
    subprocess.run(command, cwd=server.home, capture_output=True, timeout=START_TIMEOUT + 10, check=True)
    with psycopg.connect(host=str(server.home), user="postgres", dbname="postgres", autocommit=True) as db:
        db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


class Deployment:
    """An API node and job workers on ``backend``; :meth:`close` stops every process."""

    def __init__(self, backend: Backend, work: Path) -> None:
        self.backend, self.work = backend, work
        self.workers: list[subprocess.Popen[bytes]] = []
        self._folders: list[Path] = []  # where each worker's wake-up socket is
        self._logs: list[Path] = []  # what each worker wrote
        self._started = 0
        self.api, self.base = start_server(
            self._data("api"),
            job_workers="0",
            url_allow="127.0.0.1",
            **self._urls(),
        )

    def _data(self, name: str) -> Path:
        return self.work / self.backend.name.split()[0].lower() / name

    def _urls(self) -> dict[str, str]:
        urls = {"database_url": self.backend.database_url, "store_url": self.backend.store_url}
        return {name: url for name, url in urls.items() if url is not None}

    def add_workers(self, count: int, **settings: str) -> None:
        """Start ``count`` more ``conversio worker`` processes (``CONVERSIO_SERVER_<NAME>`` for each of
        ``settings``); returns once each listens for wake-ups (its plugins are loaded)."""
        env = {**os.environ, "CONVERSIO_STORE": "", "CONVERSIO_SERVER_CACHE": "0"}
        env.update({f"CONVERSIO_SERVER_{name.upper()}": value for name, value in settings.items()})
        env.update({f"CONVERSIO_SERVER_{name.upper()}": value for name, value in self._urls().items()})
        for _ in range(count):
            self._started += 1
            data = self._data("api" if self.backend.shared else f"worker-{self._started}")
            data.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-m", "conversio", "worker", "--dev", "--data-dir", str(data)]
            command += ["--public-url", self.base]
            log = data / f"worker-{self._started}.log"
            with log.open("ab") as output:
                self.workers.append(subprocess.Popen(command, stdout=output, stderr=output, env=env))
            self._folders.append(data / "run" / "workers")
            self._logs.append(log)
        deadline = time.monotonic() + START_TIMEOUT
        while sum(len(list(f.glob("*.sock"))) for f in set(self._folders)) < len(self.workers):
            for process, log in zip(self.workers, self._logs, strict=True):
                if process.poll() is not None:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"conversio worker exited with {process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"conversio worker did not start within {START_TIMEOUT:.0f} s")
            time.sleep(0.1)

    def processes(self) -> dict[str, list[int]]:
        """The deployment's processes by part (their children are theirs)."""
        servers = {name: [pid] for name, pid in self.backend.servers.items()}
        return {"workers": [w.pid for w in self.workers], "API node": [self.api.pid], **servers}

    def stop_workers(self, count: int) -> None:
        """Stop the ``count`` workers started last (SIGTERM; they are idle, so they end at once)."""
        for _ in range(count):
            stop(self.workers.pop())
            self._folders.pop()
            self._logs.pop()

    def close(self) -> None:
        self.stop_workers(len(self.workers))
        stop(self.api)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, at most ``STOP_TIMEOUT`` seconds' wait, then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT)
