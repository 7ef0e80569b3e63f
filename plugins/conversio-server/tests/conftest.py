"""A real uvicorn server on 127.0.0.1 (in a thread of the test process), and an httpx client for it;
a real PostgreSQL server (:mod:`conversio_server.testing`) and the ``database_url`` of each database kind."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import uvicorn
from conversio_server.app import create_app
from conversio_server.serving import uvicorn_config
from conversio_server.settings import ServerSettings
from conversio_server.testing import PostgresServer, find_binaries, fresh_database, running_postgres

START_TIMEOUT = 60.0


@attrs.define
class LiveServer:
    """A running server: its base ``url``, ``settings`` and the app (``app.state.server`` inside)."""

    url: str
    settings: ServerSettings
    app: Any
    uvicorn: uvicorn.Server
    thread: threading.Thread

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **kwargs)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(timeout=30)


def start_server(settings: ServerSettings) -> LiveServer:
    """Start uvicorn on a free loopback port and wait (bounded) until it answers."""
    # IPPROTO_TCP given, so that asyncio sets TCP_NODELAY on accepted connections (no 40 ms Nagle stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = attrs.evolve(settings, port=port)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", settings, app, server, thread)


def needs(*plugins: str) -> None:
    """Skip unless these plugin distributions are installed (the tox env has them all)."""
    for plugin in plugins:
        pytest.importorskip(f"conversio_{plugin}", reason=f"conversio-{plugin} is not installed")


def dev_settings(data_dir: Path, **overrides: Any) -> ServerSettings:
    values: dict[str, Any] = {"dev": True, "data_dir": data_dir, "workers": 2, "sweep_interval": 3600.0}
    values.update(overrides)
    return ServerSettings.load(environ={}, **values)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shared server: development mode, 1 MB upload limit, input URLs may reach 127.0.0.1."""
    settings = dev_settings(
        tmp_path_factory.mktemp("server"), max_upload_bytes=1_000_000, url_allow=("127.0.0.1",)
    )
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with live.client() as http:
        yield http


@attrs.define
class FileHost:
    """A plain HTTP server on loopback serving ``files`` (path → bytes): the far end of input URLs."""

    url: str
    files: dict[str, bytes]


@pytest.fixture(scope="session")
def file_host() -> Iterator[FileHost]:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="file-host", daemon=True)
    thread.start()
    yield FileHost(f"http://127.0.0.1:{httpd.server_address[1]}", files)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (skipped where PostgreSQL is not installed)."""
    if find_binaries() is None:
        pytest.skip("PostgreSQL is not installed (scripts/bootstrap.sh installs it)")
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_database(postgres) as url:
        yield url


#: The databases the server runs on: the tests of its tables run on each.
DATABASES = ("sqlite", "postgresql")


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file in ``tmp_path``, a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'server.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))
