"""The forward proxy every connection of Chromium goes through: the one way out of a page.

Chromium is launched with this proxy for every scheme and every host, loopback included
(:mod:`conversio_chromium.network`), so whatever a page causes — documents, sub-resources,
redirect hops, fetch/XHR, workers, WebSockets, preconnects — reaches the network only as an
absolute-form HTTP request (``GET http://host/path``) or a ``CONNECT host:port`` tunnel (https,
wss, ws) sent here. For each one the proxy asks :attr:`Proxy.connect` for a socket: that
function resolves the host, checks every address and connects to one it checked, so a DNS
answer cannot change between the check and the connection.

Hardening: the proxy listens on 127.0.0.1 only, on an ephemeral port, and serves only
connections opened by this process's own user (the owner of the peer socket, read from the
kernel's table of TCP sockets), so another local user cannot use it as an open proxy. (A proxy
password was measured first: Playwright answered Chromium's 407 for documents but not for every
image or any WebSocket, so it is not relied on.) Connections are bounded
(:attr:`Proxy.max_connections`, one thread each), a request head must arrive within
:attr:`Proxy.head_timeout` and fit in 64 KiB, an idle connection is closed after
:attr:`Proxy.idle_timeout`. A plain-HTTP connection carries exactly one request (``Connection:
close`` both ways), so a reused browser connection can never send one host's request to another;
a refused plain-HTTP request is closed unanswered (the browser reports it failed, not answered),
a refused tunnel is answered 403.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable
from typing import cast
from urllib.parse import urlsplit

import attrs

from conversio.errors import ConversioError

log = logging.getLogger("conversio_chromium.proxy")

#: ``(host, port) -> socket`` connected to a checked address; raises a
#: :class:`~conversio.errors.ConversioError` (refused) or :class:`OSError` (unreachable).
Connector = Callable[[str, int], socket.socket]

_HEAD_LIMIT = 64 * 1024
_CHUNK = 64 * 1024
#: Hop-by-hop headers, never forwarded (RFC 9110 §7.6.1), and Host, which the proxy sets itself.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "te", "host"}
)
#: The headers of an answer replaced by ``Connection: close``.
_CLOSE_NAMES = frozenset({b"connection", b"keep-alive", b"proxy-connection"})


class _Refusal(Exception):
    """A request the proxy answers with an error ``status`` (``None``: none) and then closes."""

    def __init__(self, status: str | None) -> None:
        super().__init__(status)
        self.status = status


def _read_head(sock: socket.socket, deadline: float, data: bytes = b"") -> tuple[bytes, bytes]:
    """An HTTP message head (up to the blank line) and whatever followed it; ``data``: already read."""
    while b"\r\n\r\n" not in data:
        if len(data) > _HEAD_LIMIT:
            raise _Refusal("431 Request Header Fields Too Large")
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(_CHUNK)
        if not chunk:
            raise ConnectionError("closed before the end of the head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the header fields (name as sent, value) of a message head."""
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _Refusal("400 Bad Request")
        fields.append((name, value.strip()))
    return lines[0], fields


def _split_authority(authority: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) as the host (no brackets, lower case) and the port."""
    host, sep, port = authority.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise _Refusal("400 Bad Request")
    return host.strip("[]").lower(), int(port)


def _forwarded_head(start: str, fields: list[tuple[str, str]]) -> tuple[str, int, bytes, int]:
    """For an absolute-form request: its host, port, the head to send upstream (origin-form,
    Host set from the URL, ``Connection: close``) and the length of its body."""
    method, target, _ = start.split(" ", 2)
    url = urlsplit(target)
    if url.scheme != "http" or not url.hostname:
        raise _Refusal("400 Bad Request")
    port = url.port or 80
    named = [(name.lower(), value) for name, value in fields]
    listed = {
        token.strip().lower() for name, value in named if name == "connection" for token in value.split(",")
    }
    if any(name == "transfer-encoding" for name, _ in named):
        raise _Refusal("411 Length Required")
    length = next((int(value) for name, value in named if name == "content-length" and value.isdigit()), 0)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {url.netloc.rpartition('@')[2]}"]
    lines += [f"{name}: {value}" for name, value in fields if name.lower() not in _HOP_HEADERS | listed]
    lines.append("Connection: close")
    return url.hostname, port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), length


def _closing_response_head(head: bytes) -> bytes:
    """An upstream response head with its connection headers replaced by ``Connection: close``."""
    lines = head.split(b"\r\n")
    kept = [line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in _CLOSE_NAMES]
    return b"\r\n".join([lines[0], *kept, b"Connection: close", b"", b""])


@attrs.define(eq=False)
class Proxy:
    """A filtering forward proxy on 127.0.0.1; :meth:`start` it once, then give the browser :attr:`server`."""

    connect: Connector
    max_connections: int = 256
    head_timeout: float = 10.0
    idle_timeout: float = 60.0
    _listener: socket.socket | None = attrs.field(default=None, init=False)
    _slots: threading.BoundedSemaphore = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_connections)

    @property
    def server(self) -> str:
        """The proxy's address for the browser (``http://127.0.0.1:<port>``)."""
        assert self._listener is not None, "the proxy is not started"
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1 and serve from a daemon thread."""
        listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="conversio-proxy", daemon=True).start()

    def close(self) -> None:
        """Stop accepting connections (those under way finish on their own)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                if self._listener is not listener:
                    return  # closed
                time.sleep(0.1)  # out of file descriptors for a moment: the browser retries
                continue
            if not self._slots.acquire(blocking=False):
                _answer(client, "503 Service Unavailable")
                client.close()
                continue
            try:
                threading.Thread(
                    target=self._serve, args=(client,), name="conversio-proxy-conn", daemon=True
                ).start()
            except RuntimeError:  # no thread to be had
                client.close()
                self._slots.release()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head, rest = _read_head(client, time.monotonic() + self.head_timeout)
            if _peer_uid(client) != os.getuid():
                raise _Refusal("403 Forbidden")
            start, fields = _parse_head(head)
            if start.upper().startswith("CONNECT "):
                host, port = _split_authority(start.split(" ")[1])
                upstream = self._open(host, port, "403 Forbidden")
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                _relay(client, upstream, self.idle_timeout)
            else:
                host, port, forwarded, length = _forwarded_head(start, fields)
                upstream = self._open(host, port, None)
                upstream.sendall(forwarded)
                _send_body(client, upstream, rest, length, self.idle_timeout)
                _relay_response(upstream, client, self.idle_timeout)
        except _Refusal as refusal:
            if refusal.status is not None:
                _answer(client, refusal.status)
        except (OSError, ValueError) as exc:
            log.debug("proxy connection ended: %s", exc)
        finally:
            if upstream is not None:
                upstream.close()
            _close(client)
            self._slots.release()

    def _open(self, host: str, port: int, refused: str | None) -> socket.socket:
        """A connection to ``host``, or a :class:`_Refusal` answering ``refused`` (502: unreachable)."""
        try:
            return self.connect(host, port)
        except ConversioError as exc:
            log.info("proxy refused %s:%s: %s", host, port, exc.details.get("why", exc))
            raise _Refusal(refused) from None
        except OSError as exc:
            log.info("proxy could not reach %s:%s: %s", host, port, exc)
            raise _Refusal("502 Bad Gateway") from None


def _peer_uid(client: socket.socket) -> int | None:
    """The user owning the other end of a loopback TCP connection, from ``/proc/net/tcp``."""
    host, port = client.getpeername()[:2]
    wanted = f"{socket.htonl(int(ipaddress.IPv4Address(host))):08X}:{port:04X}"
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            for line in table:
                fields = line.split()
                if fields[1] == wanted:
                    return int(fields[7])
    except OSError:
        return None
    return None


def _close(client: socket.socket) -> None:
    """Close a client connection after reading what it still sent (closing on unread bytes
    resets the connection, and the client may lose the answer it was sent)."""
    try:
        client.shutdown(socket.SHUT_WR)
        client.settimeout(0.5)
        for _ in range(16):
            if not client.recv(_CHUNK):
                break
    except OSError:
        pass
    client.close()


def _answer(client: socket.socket, status: str) -> None:
    """A bodiless answer from the proxy itself."""
    try:
        client.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    except OSError:
        pass


def _send_body(client: socket.socket, upstream: socket.socket, rest: bytes, length: int, idle: float) -> None:
    """The request's body (``length`` bytes, ``rest`` already read), from the client to upstream."""
    sent = rest[:length]
    upstream.sendall(sent)
    remaining = length - len(sent)
    client.settimeout(idle)
    while remaining > 0:
        chunk = client.recv(min(_CHUNK, remaining))
        if not chunk:
            raise ConnectionError("the client closed during the body")
        upstream.sendall(chunk)
        remaining -= len(chunk)


def _relay_response(upstream: socket.socket, client: socket.socket, idle: float) -> None:
    """Upstream's answer to the client, each head rewritten to close the connection, until upstream closes."""
    deadline = time.monotonic() + idle
    head, rest = _read_head(upstream, deadline)
    while head[9:10] == b"1" and head[9:12] != b"101":  # interim answers (100, 103) precede the real one
        client.sendall(head + b"\r\n\r\n")
        head, rest = _read_head(upstream, deadline, rest)
    client.sendall(_closing_response_head(head) + rest)
    upstream.settimeout(idle)
    while chunk := upstream.recv(_CHUNK):
        client.sendall(chunk)


def _relay(a: socket.socket, b: socket.socket, idle: float) -> None:
    """Bytes both ways between ``a`` and ``b`` until both are done or nothing moves for ``idle`` s."""
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            sock.settimeout(idle)
            selector.register(sock, selectors.EVENT_READ)
        while selector.get_map():
            ready = selector.select(idle)
            if not ready:
                return
            for key, _ in ready:
                sock = cast(socket.socket, key.fileobj)
                chunk = sock.recv(_CHUNK)
                if chunk:
                    peers[sock].sendall(chunk)
                    continue
                selector.unregister(sock)
                peers[sock].shutdown(socket.SHUT_WR)
