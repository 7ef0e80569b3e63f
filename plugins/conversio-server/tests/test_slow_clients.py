"""Slow clients and in-memory bodies, against a real server on 127.0.0.1 over raw sockets.

Headers or bodies trickled slower than the read timeout are answered 408 and their connection closed;
JSON bodies over the limit are refused from their declared length (413) and cut when chunked; the JSON
bytes being read at once are capped (503 with Retry-After). A steady slow upload still succeeds.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from conftest import LiveServer, dev_settings, start_server

READ_TIMEOUT = 1.5
MAX_JSON = 64 * 1024
#: Everything a test waits for is bounded by this (generous: the machine is shared).
DEADLINE = 30.0


@pytest.fixture(scope="module")
def slow_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = dev_settings(
        tmp_path_factory.mktemp("slow"),
        workers=1,
        job_workers=0,
        read_timeout=READ_TIMEOUT,
        min_body_rate=4000.0,
        max_json_bytes=MAX_JSON,
        max_json_memory=int(MAX_JSON * 1.5),
    )
    server = start_server(settings)
    yield server
    server.stop()


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def connect(live: LiveServer) -> socket.socket:
    port = int(live.url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    return sock


def head(method: str, path: str, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_answer(sock: socket.socket) -> Answer:
    """One response (status, headers, body by Content-Length), within the deadline."""
    data = b""
    deadline = time.monotonic() + DEADLINE
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, "no answer in time"
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed without an answer: {data!r}"
        data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        assert time.monotonic() < deadline, "the answer's body did not arrive in time"
        chunk = sock.recv(65536)
        assert chunk, "the connection closed mid-answer"
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body)


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection (reads until EOF, bounded)."""
    deadline = time.monotonic() + DEADLINE
    sock.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def open_connections(live: LiveServer) -> int:
    return len(live.uvicorn.server_state.connections)


def wait_connections_at_most(live: LiveServer, count: int) -> int:
    deadline = time.monotonic() + DEADLINE
    while open_connections(live) > count and time.monotonic() < deadline:
        time.sleep(0.05)
    return open_connections(live)


# slow headers


def test_trickled_headers_are_answered_408_and_the_connection_closed(slow_live: LiveServer) -> None:
    baseline = open_connections(slow_live)
    with connect(slow_live) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        sock.settimeout(0.3)
        answer = b""
        # a header byte every 0.3 s: never idle for long, but the headers never complete in time
        while time.monotonic() - started < DEADLINE:
            try:
                sock.sendall(b"X")
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if answer.endswith(b"}"):
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["error"]["code"] == "REQUEST_TIMEOUT"
    assert body["error"]["requestId"].startswith("req_")
    assert b"connection: close" in answer.lower()
    assert elapsed >= READ_TIMEOUT * 0.9
    assert wait_connections_at_most(slow_live, baseline) <= baseline


def test_many_slow_connections_do_not_tie_up_the_server(slow_live: LiveServer) -> None:
    """Twenty connections stuck in their headers: others are served meanwhile, and all twenty go."""
    baseline = open_connections(slow_live)
    stuck = [connect(slow_live) for _ in range(20)]
    try:
        for sock in stuck:
            sock.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        with slow_live.client() as client:
            assert client.get("/healthz").status_code == 200
        assert all(closed_by_server(sock) for sock in stuck)
    finally:
        for sock in stuck:
            sock.close()
    assert wait_connections_at_most(slow_live, baseline) <= baseline


def test_a_connection_that_sends_nothing_is_closed(slow_live: LiveServer) -> None:
    with connect(slow_live) as sock:
        assert closed_by_server(sock)


def test_keep_alive_connection_gets_a_fresh_header_deadline_per_request(slow_live: LiveServer) -> None:
    with connect(slow_live) as sock:
        for _ in range(3):
            sock.sendall(head("GET", "/healthz"))
            assert read_answer(sock).status == 200
            time.sleep(READ_TIMEOUT * 0.5)  # within keep-alive, each request's headers are quick


# slow bodies


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/v1/files", "multipart/form-data; boundary=xyz"),
        ("/v1/convert", "application/json"),
        ("/convert/txt/to/pdf", "application/json"),
    ],
)
def test_a_body_that_stops_is_answered_408(slow_live: LiveServer, path: str, content_type: str) -> None:
    baseline = open_connections(slow_live)
    with connect(slow_live) as sock:
        sock.sendall(head("POST", path, Content_Type=content_type, Content_Length="5000") + b"--xyz\r\n")
        answer = read_answer(sock)
        assert answer.status == 408
        assert answer.headers["connection"] == "close"
        assert closed_by_server(sock)
    body = answer.json()
    if path.startswith("/v1/"):
        assert body["error"]["code"] == "REQUEST_TIMEOUT"
        assert "read timeout" in body["error"]["message"]
    else:  # ConvertAPI's shape
        assert body["Code"] == 4080
    assert wait_connections_at_most(slow_live, baseline) <= baseline


def test_a_trickled_body_is_answered_408(slow_live: LiveServer) -> None:
    """A byte every 0.2 s never pauses for the read timeout, but is far below the minimum rate."""
    with connect(slow_live) as sock:
        sock.sendall(head("POST", "/v1/files", Content_Type="text/plain", Content_Length="100000"))
        sock.settimeout(0.2)
        started = time.monotonic()
        received = b""
        while time.monotonic() - started < DEADLINE and b"\r\n\r\n" not in received:
            try:
                sock.sendall(b"x")
                received += sock.recv(65536)
            except TimeoutError:
                continue
        assert received.startswith(b"HTTP/1.1 408 "), received[:200]
        assert time.monotonic() - started >= READ_TIMEOUT * 0.9


def test_a_steady_slow_upload_succeeds(slow_live: LiveServer) -> None:
    """1 MB at about 200 KB/s, in pieces spaced well under the read timeout: stored whole."""
    content = bytes(range(256)) * 4096
    body = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="data.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--xyz--\r\n"
    )
    started = time.monotonic()
    with connect(slow_live) as sock:
        sock.sendall(
            head(
                "POST",
                "/v1/files",
                Content_Type="multipart/form-data; boundary=xyz",
                Content_Length=str(len(body)),
            )
        )
        for offset in range(0, len(body), 16 * 1024):
            sock.sendall(body[offset : offset + 16 * 1024])
            time.sleep(0.08)
        answer = read_answer(sock)
    assert time.monotonic() - started > READ_TIMEOUT * 2  # slower than the read timeout overall
    assert answer.status == 201, answer.body
    (stored,) = answer.json()["files"]
    assert stored["size"] == len(content)
    with slow_live.client() as client:
        fetched = client.get(f"/v1/files/{stored['id']}/content")
    assert fetched.content == content


# JSON bodies in memory


JSON_ROUTES = ["/v1/convert", "/v1/jobs", "/v1/batch", "/convert/txt/to/pdf"]


def error_code(path: str, answer: Answer) -> str | int:
    body = answer.json()
    return body["Code"] if not path.startswith("/v1/") else body["error"]["code"]


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_a_declared_length_over_the_limit_is_refused_before_reading(slow_live: LiveServer, path: str) -> None:
    with connect(slow_live) as sock:
        sock.sendall(head("POST", path, Content_Type="application/json", Content_Length=str(10**9)))
        answer = read_answer(sock)  # nothing of the body was sent: the answer comes from the header
    assert answer.status == 413
    assert error_code(path, answer) in ("FILE_TOO_LARGE", 4130)


@pytest.mark.parametrize("path", JSON_ROUTES)
def test_a_chunked_body_is_cut_at_the_limit(slow_live: LiveServer, path: str) -> None:
    piece = b"[" + b" " * 8190 + b"\n"
    with connect(slow_live) as sock:
        sock.sendall(head("POST", path, Content_Type="application/json", Transfer_Encoding="chunked"))
        sent = 0
        for _ in range(2 * MAX_JSON // len(piece)):
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = read_answer(sock)
    assert answer.status == 413
    assert error_code(path, answer) in ("FILE_TOO_LARGE", 4130)


def test_json_bodies_in_flight_are_capped_with_503(slow_live: LiveServer) -> None:
    """One body holds most of the budget while it arrives: another that does not fit is told to retry."""
    holding = connect(slow_live)
    try:
        holding.sendall(
            head("POST", "/v1/jobs", Content_Type="application/json", Content_Length=str(MAX_JSON))
            + b'{"inputs": ['
        )
        time.sleep(0.3)  # the first body is being read (its declared length is held)
        with connect(slow_live) as sock:
            sock.sendall(
                head("POST", "/v1/convert", Content_Type="application/json", Content_Length=str(MAX_JSON))
            )
            busy = read_answer(sock)
        assert busy.status == 503
        assert busy.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert int(busy.headers["retry-after"]) > 0
        with connect(slow_live) as sock:  # a small body still fits beside the large one
            small = b'{"inputs": [], "outputFormat": "pdf"}'
            sock.sendall(
                head("POST", "/v1/convert", Content_Type="application/json", Content_Length=str(len(small)))
                + small
            )
            assert read_answer(sock).status in (400, 422)
    finally:
        holding.close()
    budget = slow_live.app.state.json_budget
    deadline = time.monotonic() + DEADLINE
    while budget.used and time.monotonic() < deadline:
        time.sleep(0.05)
    assert budget.used == 0  # the abandoned body gave its bytes back
    with slow_live.client() as client:
        answer = client.post(
            "/v1/convert", content=b" " * (MAX_JSON - 10), headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400  # now read whole, and found not to be an order


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    from conversio_server.settings import ServerSettings

    settings = ServerSettings.load(
        environ={"CONVERSIO_SERVER_READ_TIMEOUT": "12.5", "CONVERSIO_SERVER_MAX_JSON_MEMORY": "1000"},
        dev=True,
        data_dir=tmp_path,
    )
    assert settings.read_timeout == 12.5
    assert settings.max_json_memory == 1000
