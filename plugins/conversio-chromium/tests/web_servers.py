"""Local web servers for the network guard's tests: each serves fixed answers on 127.0.0.1 and
records every request it is sent (so a test can say a server was never reached)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import attrs
import pytest


@attrs.frozen
class Answer:
    """What a server answers for one path: a body, or a redirect when ``location`` is set."""

    body: bytes = b""
    content_type: str = "text/html"
    status: int = 200
    location: str | None = None


@attrs.frozen
class Hit:
    """One request a server was sent: its path, headers and the size of its body."""

    path: str
    headers: Mapping[str, str]
    size: int = 0


@attrs.define
class WebServer:
    """A server on 127.0.0.1; ``hits`` grows as requests arrive."""

    port: int
    hits: list[Hit]

    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]


@contextmanager
def web_server(
    answers: Mapping[str, Answer] | None = None, *, tls: Path | None = None
) -> Iterator[WebServer]:
    """A recording server answering ``answers`` by path (anything else: 404) until the block ends;
    over TLS with the certificate and key in the PEM file ``tls`` (see :func:`self_signed`)."""
    answers = dict(answers or {})
    hits: list[Hit] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(Hit(self.path, {k.lower(): v for k, v in self.headers.items()}, len(body)))
            answer = answers.get(self.path.split("?", 1)[0], Answer(status=404))
            self.send_response(answer.status)
            if answer.location is not None:
                self.send_header("Location", answer.location)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebServer(server.server_address[1], hits, "http" if tls is None else "https")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def self_signed(folder: Path) -> Path:
    """A PEM file with a new self-signed certificate for 127.0.0.1 and its key (openssl; the test
    is skipped without it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pem = folder / "server.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", pem, "-out", folder / "cert.pem"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    pem.write_bytes(pem.read_bytes() + (folder / "cert.pem").read_bytes())
    return pem


@contextmanager
def udp_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A UDP socket on 127.0.0.1 (a fake STUN server): its port and the datagrams it received."""
    received: list[bytes] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    done = threading.Event()

    def listen() -> None:
        while not done.is_set():
            try:
                received.append(sock.recv(2048))
            except TimeoutError:
                continue

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], received
    finally:
        done.set()
        thread.join(timeout=5)
        sock.close()
