"""The one outbound HTTP client: input URLs, and later webhooks and uploads of results.

Every connection it opens goes through :class:`_GuardedBackend`, which resolves the host
itself, refuses it when *any* resolved address is not a public one (loopback, private,
link-local, metadata, …, IPv4 embedded in IPv6 included) and then connects to the very
address it checked. Because checking and connecting are one step, a DNS answer that
changes between the two (rebinding) cannot reach a forbidden address, and because the
check sits under the connection pool, every redirect hop and every retry is checked too.
The URL keeps its host name, so the ``Host`` header, TLS SNI and certificate checks are
those of the name, not of the address.

Failures are :class:`~conversio_server.errors.ApiError`: ``INVALID_REQUEST`` with
``details["reason"]`` (``URL_NOT_ALLOWED``, ``URL_UNREACHABLE``, ``URL_TIMEOUT``,
``URL_STATUS``, ``TOO_MANY_REDIRECTS``), or ``FILE_TOO_LARGE``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from email.message import Message
from pathlib import Path
from typing import Any

import attrs
import httpcore
import httpx

from conversio.converters import safe_filename
from conversio_server.errors import ApiError

log = logging.getLogger("conversio_server.outbound")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``; the default asks the system resolver (getaddrinfo).
Resolver = Callable[[str, int], list[str]]

MB = 1000 * 1000
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Not sent on to another origin when a redirect leads there.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
USER_AGENT = "conversio-server"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

#: Checked first: these name the danger better than "private".
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "a cloud metadata address",
    ipaddress.ip_address("fd00:ec2::254"): "a cloud metadata address",
    ipaddress.ip_address("100.100.100.200"): "a cloud metadata address",
}

_FORBIDDEN_V4: tuple[tuple[IPNetwork, str], ...] = (
    (_V4("0.0.0.0/8"), "'this network' (0.0.0.0/8)"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("100.64.0.0/10"), "shared carrier-grade NAT space (100.64.0.0/10)"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"),
    (_V4("192.0.2.0/24"), "documentation (TEST-NET-1)"),
    (_V4("192.88.99.0/24"), "6to4 relay anycast"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"),
    (_V4("198.51.100.0/24"), "documentation (TEST-NET-2)"),
    (_V4("203.0.113.0/24"), "documentation (TEST-NET-3)"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("255.255.255.255/32"), "broadcast"),
    (_V4("240.0.0.0/4"), "reserved (240.0.0.0/4)"),
)

_FORBIDDEN_V6: tuple[tuple[IPNetwork, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (_V6("100::/64"), "discard-only (100::/64)"),
    (_V6("2001::/32"), "Teredo tunnelling (2001::/32)"),
    (_V6("2001:db8::/32"), "documentation (2001:db8::/32)"),
    (_V6("3fff::/20"), "documentation (3fff::/20)"),
    (_V6("fc00::/7"), "unique local (fc00::/7)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local (deprecated)"),
    (_V6("ff00::/8"), "multicast"),
)

#: IPv6 ranges that carry an IPv4 address in known bits: (network, label, offset of the v4 bits).
_EMBEDS_V4: tuple[tuple[IPNetwork, str, int], ...] = (
    (_V6("::ffff:0:0/96"), "IPv4-mapped", 0),
    (_V6("::ffff:0:0:0/96"), "IPv4-translated", 0),
    (_V6("::/96"), "IPv4-compatible", 0),
    (_V6("64:ff9b::/96"), "NAT64", 0),
    (_V6("2002::/16"), "6to4", 80),
)

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_DOTTED_QUAD = re.compile(
    r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"
)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached from the server, or ``None`` for a public address."""
    if address in _METADATA:
        return _METADATA[address]
    if isinstance(address, ipaddress.IPv6Address):
        for network, label, shift in _EMBEDS_V4:
            if address in network and int(address) > 1:  # "::" and "::1" are not IPv4-compatible
                inner = ipaddress.IPv4Address((int(address) >> shift) & 0xFFFFFFFF)
                why = forbidden_reason(inner)
                return None if why is None else f"{label} form of {inner}, {why}"
        table = _FORBIDDEN_V6
    else:
        table = _FORBIDDEN_V4
    for network, label in table:
        if address in network:
            return label
    if not address.is_global:
        return "not globally routable"
    return None


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _as_allow_entry(entry: str | IPNetwork) -> str | IPNetwork:
    if isinstance(entry, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return entry
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return entry.strip().lower().rstrip(".")


def _to_allow(entries: Iterable[str | IPNetwork]) -> tuple[str | IPNetwork, ...]:
    if isinstance(entries, str):
        entries = (entries,)
    return tuple(_as_allow_entry(e) for e in entries)


@attrs.frozen(kw_only=True)
class OutboundPolicy:
    """What the outbound client may reach, and how much and how long it may read.

    ``allow`` lists networks (``10.0.0.0/8``, ``127.0.0.1``) or exact host names whose
    addresses are permitted although not public; everything else must resolve to public
    addresses only. ``ports`` (``None``: any) restricts the destination port. Times are
    seconds; ``total_timeout`` bounds a whole fetch, redirects included.
    """

    allow: tuple[str | IPNetwork, ...] = attrs.field(default=(), converter=_to_allow)
    max_bytes: int = 500 * MB
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 300.0
    max_redirects: int = 5
    schemes: frozenset[str] = frozenset({"http", "https"})
    ports: frozenset[int] | None = None

    def permits(self, host: str, address: IPAddress) -> bool:
        """Whether the allow list lets ``host`` (as resolved to ``address``) through."""
        name = host.lower().rstrip(".")
        for entry in self.allow:
            if isinstance(entry, str):
                if entry == name:
                    return True
            elif address.version == entry.version and address in entry:
                return True
        return False


def _refused(url: str, why: str) -> ApiError:
    return ApiError(
        "INVALID_REQUEST",
        f"the URL {url} may not be fetched: {why}",
        details={"reason": "URL_NOT_ALLOWED", "why": why, "url": url},
    )


def _failed(url: str, reason: str, why: str) -> ApiError:
    return ApiError(
        "INVALID_REQUEST",
        f"the URL {url} could not be fetched: {why}",
        details={"reason": reason, "why": why, "url": url},
    )


def _restated(exc: ApiError, shown: str) -> ApiError:
    """A refusal raised where only the host and port were known, about the whole URL instead."""
    if exc.details.get("url") == shown or "why" not in exc.details:
        return exc
    reason, why = str(exc.details.get("reason")), str(exc.details["why"])
    return _refused(shown, why) if reason == "URL_NOT_ALLOWED" else _failed(shown, reason, why)


def _unreachable(shown: str, exc: BaseException) -> ApiError:
    """A network failure in the user's terms (the exception's own text goes to the log)."""
    log.info("fetching %s failed: %s: %s", shown, type(exc).__name__, exc)
    text = str(exc).lower()
    if "certificate" in text or isinstance(exc, ssl.SSLError):
        why = "its TLS certificate could not be verified"
    elif "refused" in text:
        why = "the connection was refused"
    elif "name or service" in text or "resolution" in text:
        why = "its host name could not be resolved"
    else:
        why = "the connection failed"
    return _failed(shown, "URL_UNREACHABLE", why)


def _url_host(address: IPAddress) -> str:
    """An address as it is written in a URL (IPv6 in brackets)."""
    return f"[{address}]" if address.version == 6 else str(address)


def _shown(url: httpx.URL) -> str:
    """The URL as the user gave it (IPv6 hosts in brackets), but a password in it masked."""
    return str(url.copy_with(username=url.username, password="***")) if url.password else str(url)


def check_url(url: httpx.URL | str, policy: OutboundPolicy) -> httpx.URL:
    """``url`` parsed and checked for what can be told without resolving it (scheme, host form, port)."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise _refused(str(url)[:200], f"not a valid URL ({exc})") from None
    shown = _shown(parsed) if parsed.host else str(url)[:200]
    if parsed.scheme not in policy.schemes:
        raise _refused(shown, f"the scheme {parsed.scheme or '(none)'!r} is not one of http, https")
    if parsed.userinfo:
        raise _refused(shown, "credentials in the URL are not accepted")
    host = parsed.host
    if not host:
        raise _refused(shown, "the URL has no host")
    if "%" in host:
        raise _refused(shown, "IPv6 zone identifiers are not accepted")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        if _NUMERIC_LABEL.match(labels[-1]) and not _DOTTED_QUAD.match(host):
            raise _refused(shown, f"the numeric host {host!r} is not a dotted-decimal IPv4 address") from None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if policy.ports is not None and port not in policy.ports:
        raise _refused(shown, f"the port {port} is not allowed")
    return parsed


def resolve_checked(host: str, port: int, policy: OutboundPolicy, resolver: Resolver) -> list[IPAddress]:
    """Every address of ``host``, each checked; refused when *any* of them is forbidden."""
    shown = f"{host}:{port}"  # restated with the whole URL by the client (:func:`_restated`)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [literal]
    else:
        try:
            answers = resolver(host, port)
        except (OSError, UnicodeError) as exc:
            log.info("resolving %s failed: %s", host, exc)
            raise _failed(shown, "URL_UNREACHABLE", f"the host {host!r} could not be resolved") from None
        try:
            candidates = list(dict.fromkeys(ipaddress.ip_address(a.split("%", 1)[0]) for a in answers))
        except ValueError:
            raise _refused(shown, f"the resolver gave an unusable answer for {host!r}") from None
        if not candidates:
            raise _failed(shown, "URL_UNREACHABLE", f"the host {host!r} has no address")
    for address in candidates:
        why = forbidden_reason(address)
        if why is not None and not policy.permits(host, address):
            if literal is not None:
                raise _refused(shown, f"{_url_host(address)} is {why}")
            raise _refused(shown, f"{host} resolves to {_url_host(address)}, which is {why}")
    return candidates


class _GuardedBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses it has just resolved and checked itself."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._system = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._policy, self._resolver)
        last: Exception | None = None
        for address in addresses:
            try:
                return self._system.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise _refused(path, "unix sockets are not reachable")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _CoreStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose every connection is guarded."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=32,
            max_keepalive_connections=8,
            network_backend=_GuardedBackend(policy, resolver),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = self._pool.handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


@attrs.frozen
class Fetched:
    """A downloaded file: where it is, its (safe) name, the announced media type and its size."""

    path: Path
    name: str
    content_type: str | None
    size: int


@attrs.frozen
class Reply:
    """The answer to :meth:`OutboundClient.request` (the body cut at the size asked for)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


_TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException)
_NETWORK = (httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError, httpx.DecodingError, OSError)


class OutboundClient:
    """The server's HTTP client. Thread-safe; close it (or use it as a context manager) when done.

    ``resolver`` is for tests; ``ssl_context`` defaults to the system's verified one.
    """

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        transport = _GuardedTransport(
            self.policy, resolver or _default_resolver, ssl_context or httpx.create_ssl_context()
        )
        self._http = httpx.Client(
            transport=transport,
            trust_env=False,  # no proxies from the environment: the guard must see the real target
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _timeout(self, deadline: float, shown: str) -> httpx.Timeout:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _failed(shown, "URL_TIMEOUT", f"no complete answer within {self.policy.total_timeout:g} s")
        p = self.policy
        return httpx.Timeout(
            connect=min(p.connect_timeout, left),
            read=min(p.read_timeout, left),
            write=min(p.read_timeout, left),
            pool=min(p.connect_timeout, left),
        )

    def _open(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | Iterable[bytes] | None,
        deadline: float,
        follow: bool,
    ) -> tuple[httpx.Response, httpx.URL]:
        """Send the request and follow redirects by hand, checking every hop; the response is open."""
        hops = 0
        while True:
            url = check_url(url, self.policy)
            shown = _shown(url)
            request = self._http.build_request(
                method, url, headers=headers, content=content, timeout=self._timeout(deadline, shown)
            )
            try:
                response = self._http.send(request, stream=True)
            except ApiError as exc:
                raise _restated(exc, shown) from None
            except _TIMEOUTS:
                raise _failed(shown, "URL_TIMEOUT", "the server did not answer in time") from None
            except _NETWORK as exc:
                raise _unreachable(shown, exc) from None
            location = response.headers.get("location")
            if not follow or response.status_code not in REDIRECT_STATUSES or location is None:
                return response, url
            response.close()
            hops += 1
            if hops > self.policy.max_redirects:
                raise _failed(shown, "TOO_MANY_REDIRECTS", f"more than {self.policy.max_redirects} redirects")
            previous = url
            try:
                url = url.join(location)
            except (httpx.InvalidURL, ValueError):
                raise _refused(shown, f"the redirect to {location[:200]!r} is not a valid URL") from None
            if headers and (url.scheme, url.host, url.port) != (
                previous.scheme,
                previous.host,
                previous.port,
            ):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, content = "GET", None
            elif content is not None and not isinstance(content, bytes):
                raise _failed(shown, "URL_STATUS", "a redirect asks to send a streamed body again")

    def fetch_to_file(self, url: str, dest_dir: Path, *, max_bytes: int | None = None) -> Fetched:
        """Download ``url`` (GET, redirects followed and checked) into a new file under ``dest_dir``.

        The size cap (``max_bytes`` or the policy's, whichever is smaller) is enforced while
        streaming: FILE_TOO_LARGE as soon as it is crossed, and nothing is left on disk.
        """
        limit = self.policy.max_bytes if max_bytes is None else min(max_bytes, self.policy.max_bytes)
        deadline = time.monotonic() + self.policy.total_timeout
        response, final = self._open(
            "GET", check_url(url, self.policy), headers=None, content=None, deadline=deadline, follow=True
        )
        try:
            return self._save(response, final, limit, deadline, dest_dir)
        finally:
            response.close()

    def _save(
        self, response: httpx.Response, final: httpx.URL, limit: int, deadline: float, dest_dir: Path
    ) -> Fetched:
        shown = _shown(final)
        if not 200 <= response.status_code < 300:
            raise ApiError(
                "INVALID_REQUEST",
                f"the URL {shown} answered HTTP {response.status_code}",
                details={"reason": "URL_STATUS", "status": response.status_code, "url": shown},
            )
        declared = response.headers.get("content-length", "")
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and int(declared) > limit:
            raise _too_large(shown, limit)
        name = _name_for(response, final)
        dest_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="fetch-", dir=dest_dir))
        path = folder / name
        size = 0
        try:
            with path.open("wb") as out:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(shown, limit)
                    if time.monotonic() > deadline:
                        why = f"the download took longer than {self.policy.total_timeout:g} s"
                        raise _failed(shown, "URL_TIMEOUT", why)
                    out.write(chunk)
        except BaseException as exc:
            path.unlink(missing_ok=True)
            folder.rmdir()
            if isinstance(exc, _TIMEOUTS):
                raise _failed(shown, "URL_TIMEOUT", "the server stopped sending") from None
            if isinstance(exc, _NETWORK):
                raise _unreachable(shown, exc) from None
            raise
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(path=path, name=name, content_type=media_type or None, size=size)

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
        max_response_bytes: int = 1024 * 1024,
    ) -> Reply:
        """Send one request (a webhook POST, a PUT of a result) under the same guard.

        Any status is returned (the caller decides); the body is read up to
        ``max_response_bytes`` and the rest discarded.
        """
        deadline = time.monotonic() + self.policy.total_timeout
        response, final = self._open(
            method.upper(),
            check_url(url, self.policy),
            headers=headers,
            content=content,
            deadline=deadline,
            follow=follow_redirects,
        )
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk[: max_response_bytes - len(body)]
                if len(body) >= max_response_bytes or time.monotonic() > deadline:
                    break
        except _TIMEOUTS:
            raise _failed(_shown(final), "URL_TIMEOUT", "the server stopped sending") from None
        except _NETWORK as exc:
            raise _unreachable(_shown(final), exc) from None
        finally:
            response.close()
        return Reply(status_code=response.status_code, headers=dict(response.headers), content=bytes(body))


def _too_large(shown: str, limit: int) -> ApiError:
    return ApiError(
        "FILE_TOO_LARGE",
        f"the file at {shown} is larger than the limit of {limit:,} bytes",
        details={"limit": limit, "url": shown},
    )


def _name_for(response: httpx.Response, url: httpx.URL) -> str:
    """The file name the server gave (Content-Disposition), else the last part of the URL path."""
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        try:
            given = message.get_filename()
        except (ValueError, LookupError):
            given = None
        if given:
            return safe_filename(str(given), default="download")
    return safe_filename(url.path.rsplit("/", 1)[-1], default="download")
