"""The outbound client against a real loopback HTTP server; nothing ever leaves 127.0.0.1.

Every test records the TCP connections the process opens (``socket.create_connection``)
and fails on any to a non-loopback address, so "refused" also means "never connected".
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest
from conversio_server.errors import ApiError
from conversio_server.outbound import OutboundClient, OutboundPolicy

LOOPBACK_ONLY = OutboundPolicy(allow=("127.0.0.1",), connect_timeout=2, read_timeout=5, total_timeout=10)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.hits.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(200, b"got:" + body, Content_Type="text/plain")

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/hello.txt":
            self._send(200, b"hello", Content_Type="text/plain; charset=utf-8")
        elif url.path == "/host":
            self._send(200, self.headers.get("Host", "").encode())
        elif url.path == "/auth":
            self._send(200, self.headers.get("Authorization", "-").encode())
        elif url.path == "/named":
            self._send(200, b"%PDF-", Content_Disposition='attachment; filename="../../etc/evil\x01name.pdf"')
        elif url.path == "/redirect":
            self._send(302, Location=query["to"])
        elif url.path == "/loop":
            self._send(302, Location="/loop")
        elif url.path == "/missing":
            self._send(404, b"no")
        elif url.path == "/big":  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(int(query["n"]) // 10_000):
                self.wfile.write(b"x" * 10_000)
        elif url.path == "/gzip":  # a small body that inflates far past the cap
            self._send(200, gzip.compress(b"\0" * 5_000_000), Content_Encoding="gzip")
        elif url.path == "/declared":
            self.send_response(200)
            self.send_header("Content-Length", query["n"])
            self.end_headers()
            self.wfile.write(b"x" * 1000)
        elif url.path == "/slow":
            time.sleep(2.5)
            self._send(200, b"late")
        elif url.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(25):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self._send(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up on purpose (size cap, timeouts)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def base(server: _Server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TCP connection attempted; one to a non-loopback address fails the test at once."""
    attempts: list[str] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise AssertionError(f"a connection to {address[0]} was attempted")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def reason_of(exc: pytest.ExceptionInfo[ApiError]) -> str:
    return str(exc.value.details.get("reason"))


#: A few of each kind; every forbidden range is in the core's own tests (conversio.outbound).
FORBIDDEN = ["127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fd00:ec2::254", "::ffff:127.0.0.1"]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_a_name_resolving_to_a_forbidden_address_is_refused_before_connecting(
    address: str, connections: list[str], tmp_path: Path
) -> None:
    asked: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [address]

    with OutboundClient(OutboundPolicy(), resolver=resolver) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file("https://files.example.com/a.pdf", tmp_path)
    assert exc.value.code == "INVALID_REQUEST" and exc.value.status == 400
    assert reason_of(exc) == "URL_NOT_ALLOWED"
    assert asked == [("files.example.com", 443)]
    assert connections == []
    assert list(tmp_path.iterdir()) == []


def test_one_forbidden_address_among_public_ones_is_enough(connections: list[str], tmp_path: Path) -> None:
    client = OutboundClient(OutboundPolicy(), resolver=lambda host, port: ["8.8.8.8", "10.0.0.7"])
    with client, pytest.raises(ApiError) as exc:
        client.fetch_to_file("http://mixed.example.com/", tmp_path)
    assert reason_of(exc) == "URL_NOT_ALLOWED" and "10.0.0.7" in exc.value.message
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://[2002:7f00:1::]/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.100.100.200/",
        "http://0.0.0.0:8080/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://10.1/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://user:secret@example.com/",
        "ftp://example.com/file.pdf",
        "file:///etc/passwd",
        "gopher://example.com/",
        "//example.com/a",
        "http:///nohost",
        "not a url",
    ],
)
def test_dangerous_urls_are_refused_without_a_connection(
    url: str, connections: list[str], tmp_path: Path
) -> None:
    def resolver(host: str, port: int) -> list[str]:
        assert host.lower().rstrip(".") == "localhost", f"{host} should not even be resolved"
        return ["127.0.0.1", "::1"]

    with OutboundClient(OutboundPolicy(), resolver=resolver) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(url, tmp_path)
    assert exc.value.code == "INVALID_REQUEST"
    assert reason_of(exc) == "URL_NOT_ALLOWED"
    assert connections == []


def test_the_loopback_fixture_is_reachable_only_when_allowed(server: _Server, tmp_path: Path) -> None:
    with OutboundClient(OutboundPolicy()) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(base(server) + "/hello.txt", tmp_path)
    assert reason_of(exc) == "URL_NOT_ALLOWED" and "loopback" in exc.value.message

    with OutboundClient(LOOPBACK_ONLY) as client:
        fetched = client.fetch_to_file(base(server) + "/hello.txt", tmp_path)
    assert fetched.path.read_bytes() == b"hello"
    assert fetched.name == "hello.txt" and fetched.path.name == "hello.txt"
    assert fetched.content_type == "text/plain" and fetched.size == 5
    assert fetched.path.parent.parent == tmp_path


def test_the_name_comes_from_content_disposition_and_is_made_safe(server: _Server, tmp_path: Path) -> None:
    with OutboundClient(LOOPBACK_ONLY) as client:
        fetched = client.fetch_to_file(base(server) + "/named", tmp_path)
    assert fetched.name == "evil_name.pdf"
    assert fetched.path.parent.parent == tmp_path


def test_an_allowed_host_name_keeps_its_name_in_the_host_header(server: _Server, tmp_path: Path) -> None:
    port = server.server_address[1]
    policy = OutboundPolicy(allow=("files.internal",))
    resolver = {"files.internal": ["127.0.0.1"]}
    with OutboundClient(policy, resolver=lambda host, _: resolver[host]) as client:
        fetched = client.fetch_to_file(f"http://files.internal:{port}/host", tmp_path)
        assert fetched.path.read_text() == f"files.internal:{port}"
        with pytest.raises(ApiError) as exc:  # the same address under another name is not allowed
            client.fetch_to_file(f"http://127.0.0.1:{port}/host", tmp_path)
    assert reason_of(exc) == "URL_NOT_ALLOWED"


def test_redirects_are_followed_and_every_hop_is_checked(
    server: _Server, connections: list[str], tmp_path: Path
) -> None:
    with OutboundClient(LOOPBACK_ONLY) as client:
        fetched = client.fetch_to_file(base(server) + "/redirect?to=/hello.txt", tmp_path)
        assert fetched.path.read_bytes() == b"hello"
        for target in (
            "http://10.0.0.1/x",
            "http://169.254.169.254/",
            "http://[::1]:1/",
            "file:///etc/passwd",
        ):
            with pytest.raises(ApiError) as exc:
                client.fetch_to_file(f"{base(server)}/redirect?to={target}", tmp_path)
            assert reason_of(exc) == "URL_NOT_ALLOWED", target
        with pytest.raises(ApiError) as exc:
            client.fetch_to_file(base(server) + "/loop", tmp_path)
        assert reason_of(exc) == "TOO_MANY_REDIRECTS"
    assert set(connections) == {"127.0.0.1"}
    assert server.hits.count("/loop") == LOOPBACK_ONLY.max_redirects + 1


def test_an_error_status_is_an_invalid_request(server: _Server, tmp_path: Path) -> None:
    with OutboundClient(LOOPBACK_ONLY) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(base(server) + "/missing", tmp_path)
    assert reason_of(exc) == "URL_STATUS" and exc.value.details["status"] == 404


def test_the_size_cap_holds_while_streaming(server: _Server, tmp_path: Path) -> None:
    policy = OutboundPolicy(allow=("127.0.0.0/8",), max_bytes=50_000)
    with OutboundClient(policy) as client:
        with pytest.raises(ApiError) as exc:
            client.fetch_to_file(base(server) + "/big?n=2000000", tmp_path)
        assert exc.value.code == "FILE_TOO_LARGE" and exc.value.status == 413
        with pytest.raises(ApiError) as exc:  # a smaller cap per call (a tier's) wins
            client.fetch_to_file(base(server) + "/big?n=40000", tmp_path, max_bytes=20_000)
        assert exc.value.details["limit"] == 20_000
        with pytest.raises(ApiError) as exc:  # a declared length over the cap is refused up front
            client.fetch_to_file(base(server) + "/declared?n=9000000", tmp_path)
        assert exc.value.code == "FILE_TOO_LARGE"
        with pytest.raises(ApiError) as exc:  # the cap counts decoded bytes: no compression bombs
            client.fetch_to_file(base(server) + "/gzip", tmp_path)
        assert exc.value.code == "FILE_TOO_LARGE"
        assert client.fetch_to_file(base(server) + "/big?n=40000", tmp_path).size == 40_000
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in leftovers] == [40_000]


def test_a_silent_server_times_out(server: _Server, tmp_path: Path) -> None:
    policy = OutboundPolicy(allow=("127.0.0.1",), read_timeout=0.4, total_timeout=10)
    started = time.monotonic()
    with OutboundClient(policy) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(base(server) + "/slow", tmp_path)
    assert reason_of(exc) == "URL_TIMEOUT", exc.value.message
    assert time.monotonic() - started < 2.0


def test_a_dripping_server_hits_the_total_timeout(server: _Server, tmp_path: Path) -> None:
    policy = OutboundPolicy(allow=("127.0.0.1",), read_timeout=5, total_timeout=0.8)
    started = time.monotonic()
    with OutboundClient(policy) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(base(server) + "/drip", tmp_path)
    assert reason_of(exc) == "URL_TIMEOUT", exc.value.message
    assert time.monotonic() - started < 2.0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_dns_rebinding_cannot_reach_loopback(
    server: _Server, monkeypatch: pytest.MonkeyPatch, connections: list[str], tmp_path: Path
) -> None:
    """The name first resolves to a public address, then to 127.0.0.1: the connection goes where
    the check said, and the loopback answer is refused. The "public" host is played by a second
    loopback server, reached through a patched connect; the real loopback server must see nothing."""
    public_ip = "93.184.215.14"
    public = _Server(("127.0.0.1", 0), _Handler)
    public.hits = []
    thread = threading.Thread(target=public.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    real = httpcore.SyncBackend.connect_tcp
    dialled: list[str] = []

    def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        dialled.append(host)
        assert host == public_ip, f"dialled {host}"
        return real(self, "127.0.0.1", public.server_address[1], *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    answers = iter([[public_ip], ["127.0.0.1"], ["127.0.0.1"]])
    port = server.server_address[1]
    before = len(server.hits)
    try:
        with OutboundClient(OutboundPolicy(), resolver=lambda host, _: next(answers)) as client:
            fetched = client.fetch_to_file(f"http://rebind.example.com:{port}/hello.txt", tmp_path)
            assert fetched.path.read_bytes() == b"hello" and public.hits == ["/hello.txt"]
            with pytest.raises(ApiError) as exc:  # a fresh connection re-resolves: now refused
                OutboundClient(OutboundPolicy(), resolver=lambda host, _: next(answers)).fetch_to_file(
                    f"http://rebind.example.com:{port}/hello.txt", tmp_path
                )
            assert reason_of(exc) == "URL_NOT_ALLOWED"
    finally:
        public.shutdown()
        public.server_close()
        thread.join(timeout=5)
    assert dialled == [public_ip]
    assert len(server.hits) == before


def test_request_posts_and_does_not_follow_redirects_unless_asked(server: _Server) -> None:
    with OutboundClient(LOOPBACK_ONLY) as client:
        reply = client.request("POST", base(server) + "/hook", content=b'{"event":"job.completed"}')
        assert reply.status_code == 200 and reply.content == b'got:{"event":"job.completed"}'
        redirect = client.request("GET", base(server) + "/redirect?to=http://10.0.0.1/")
        assert redirect.status_code == 302 and redirect.headers["location"] == "http://10.0.0.1/"
        with pytest.raises(ApiError) as exc:
            client.request("GET", base(server) + "/redirect?to=http://10.0.0.1/", follow_redirects=True)
        assert reason_of(exc) == "URL_NOT_ALLOWED"
        assert (
            client.request("GET", base(server) + "/big?n=100000", max_response_bytes=1000).content
            == b"x" * 1000
        )


def test_credentials_do_not_follow_a_redirect_to_another_origin(server: _Server) -> None:
    port = server.server_address[1]
    policy = OutboundPolicy(allow=("127.0.0.1", "files.internal"))
    with OutboundClient(policy, resolver=lambda host, _: ["127.0.0.1"]) as client:
        secret = {"Authorization": "Bearer hook-secret"}
        same = client.request(
            "GET", f"{base(server)}/redirect?to=/auth", headers=secret, follow_redirects=True
        )
        assert same.content == b"Bearer hook-secret"
        other = f"{base(server)}/redirect?to=http://files.internal:{port}/auth"
        assert client.request("GET", other, headers=secret, follow_redirects=True).content == b"-"


def test_policy_ports_restrict_the_destination(server: _Server, tmp_path: Path) -> None:
    policy = OutboundPolicy(allow=("127.0.0.1",), ports=frozenset({443}))
    with OutboundClient(policy) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(base(server) + "/hello.txt", tmp_path)
    assert reason_of(exc) == "URL_NOT_ALLOWED" and "port" in exc.value.message


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_Server, Path, list[str]]]:
    """An HTTPS loopback server whose self-signed certificate names only ``files.internal``."""
    pytest.importorskip("cryptography")
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "files.internal")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("files.internal")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_names: list[str] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(str(server_name))
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.hits = []
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd, cert_path, server_names
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_https_to_a_pinned_address_keeps_the_name_for_sni_and_verification(
    tls_server: tuple[_Server, Path, list[str]], tmp_path: Path
) -> None:
    httpd, cert_path, server_names = tls_server
    port = httpd.server_address[1]
    trust = ssl.create_default_context(cafile=str(cert_path))
    policy = OutboundPolicy(allow=("127.0.0.1",), connect_timeout=2, read_timeout=5)
    resolver = {"files.internal": ["127.0.0.1"], "other.internal": ["127.0.0.1"]}
    with OutboundClient(policy, resolver=lambda host, _: resolver[host], ssl_context=trust) as client:
        fetched = client.fetch_to_file(f"https://files.internal:{port}/hello.txt", tmp_path)
        assert fetched.path.read_bytes() == b"hello"
        assert server_names == ["files.internal"]
        for wrong in (f"https://other.internal:{port}/hello.txt", f"https://127.0.0.1:{port}/hello.txt"):
            with pytest.raises(ApiError) as exc:  # the certificate does not name these: refused by TLS
                client.fetch_to_file(wrong, tmp_path)
            assert reason_of(exc) == "URL_UNREACHABLE" and "CERTIFICATE" in exc.value.message.upper()
    assert httpd.hits == ["/hello.txt"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://[::1]:8080/a/b.pdf?sig=x&exp=1", "http://[::1]:8080/a/b.pdf?sig=x&exp=1"),
        ("http://127.0.0.1/report.pdf?token=abc#page=2", "http://127.0.0.1/report.pdf?token=abc#page=2"),
        ("http://bob:hunter2@10.0.0.1/x", "http://bob:***@10.0.0.1/x"),
    ],
)
def test_a_refused_url_is_echoed_whole_with_ipv6_in_brackets_and_no_password(
    url: str, shown: str, tmp_path: Path
) -> None:
    with OutboundClient(OutboundPolicy()) as client, pytest.raises(ApiError) as exc:
        client.fetch_to_file(url, tmp_path)
    assert shown in exc.value.message
    assert "hunter2" not in exc.value.message


def test_the_conversion_workers_get_the_servers_allow_list(tmp_path: Path) -> None:
    """What a conversion fetches in a worker process (a web page's requests) may reach what the
    server's own fetches may: the workers' environment carries the allow list."""
    pytest.importorskip("conversio_image")
    from conversio_server.settings import ServerSettings
    from conversio_server.worker import make_conversio
    from PIL import Image

    from conversio.outbound import ALLOW_ENV, AllowList

    settings = ServerSettings.load(
        {}, url_allow=("10.0.0.0/8", "Files.Internal"), data_dir=tmp_path, workers=1
    )
    Image.new("RGB", (4, 4), "red").save(tmp_path / "dot.png")
    others = set(_children("conversio.engine.worker"))  # the workers of the session's servers
    with make_conversio(settings) as conversio:
        assert conversio.convert(tmp_path / "dot.png", to="jpg").run().read_bytes()[:2] == b"\xff\xd8"
        environs = [_environ(pid) for pid in set(_children("conversio.engine.worker")) - others]
    assert len(environs) == 1
    assert (
        AllowList.from_env(environs[0])
        == settings.outbound.allow
        == AllowList(("10.0.0.0/8", "files.internal"))
    )
    assert environs[0][ALLOW_ENV] == "10.0.0.0/8,files.internal"


def _children(command: str) -> list[int]:
    """This process's live children whose command line holds ``command``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except (OSError, NotADirectoryError):
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == os.getpid() and state != "Z" and command.encode() in cmdline:
            found.append(int(entry.name))
    return found


def _environ(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)
