"""Everything a page may reach, decided by conversio rather than by the page.

Two gates, both required:

- :func:`attach` routes every request of a conversion's fresh context (``context.route``): the
  :class:`~conversio_chromium.inputs.Site`'s files are served from memory (a path outside the
  site is a 404, never a file of the host), schemes other than http(s) are refused, and the
  extra headers go to the web address's own origin only (fetched for the page with redirects
  not followed, because Chromium carries a continued request's headers across its redirects).
- Everything else reaches the network only through conversio's forward proxy
  (:mod:`conversio_chromium.proxy`, one per process): the browser is launched with it for every
  host, loopback included (:func:`launch_proxy`, :func:`launch_arguments`), and it connects only
  to an address :func:`conversio.outbound.resolve_checked` checked (``CONVERSIO_URL_ALLOW`` lets
  private networks through). What the route never sees still meets the proxy: redirect hops
  (measured: Chromium follows a continued request's redirects without routing them again),
  WebSockets, preconnects, prefetches, beacons, requests of workers and service workers. The
  proxy, not the route, decides on addresses: the route runs on Playwright's thread, where a
  DNS lookup would stall every page, and could only check an address the browser then resolves
  again; the proxy resolves once, in the connection's own thread, and connects to what it checked.

Chromium's own resolver is closed (``--host-resolver-rules``: only the proxy resolves names;
measured on a page with a DNS prefetch, a preconnect, an image and a fetch to unknown hosts:
48 connections to the system resolver's port 53 without the switch, none with it) and WebRTC
may use no UDP but the proxy's, which has none (measured: without the switch a STUN server on
127.0.0.1 was sent 4 datagrams, with it none). QUIC is off, and with it WebTransport's UDP
(measured with strace: an unguarded Chromium opened sockets to 203.0.113.5 for a WebTransport
session, the guarded one none). ``file:`` and ``chrome:`` addresses are refused by Chromium
itself to a web page (measured: never routed); the guard records them from the console.

The returned :class:`Watch` records what the page's requests came to, for the error messages
and the ``fail_on_*`` options: refusals with the proxy's reason (a failed request is matched to
the proxy's latest verdict on its host and port), failures, and each answer's status.
"""

from __future__ import annotations

import mimetypes
import os
import socket
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

import attrs
from playwright.sync_api import Error as PlaywrightError

from conversio.errors import InvalidOption, InvalidRequest
from conversio.outbound import AllowList, resolve_checked
from conversio_chromium.inputs import SITE_ORIGIN, Source
from conversio_chromium.proxy import Proxy

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response, Route

#: Seconds to open a TCP connection to a checked address, and to fetch a request given headers.
CONNECT_TIMEOUT = 10.0
FETCH_TIMEOUT = 30.0

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: A request the page (or a window closing) cancelled: not a resource that failed to load.
_CANCELLED = "net::ERR_ABORTED"
#: How Chromium's console names a ``file:`` or ``chrome:`` address it would not load.
_LOCAL_REFUSED = "Not allowed to load local resource: "
#: Media types by file name extension: Python's own table, not the host's (which varies), and
#: what that table lacks.
_MEDIA_TYPES = mimetypes.MimeTypes()
for _extension, _type in {".webp": "image/webp", ".woff": "font/woff", ".woff2": "font/woff2"}.items():
    _MEDIA_TYPES.add_type(_type, _extension)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@attrs.define
class Watch:
    """What one page's requests came to. ``refused``: (url, why) never sent, by policy;
    ``failed``: (url, why) sent and failed; ``statuses``: url -> HTTP status of each answer."""

    main_url: str
    refused: list[tuple[str, str]] = attrs.Factory(list)
    failed: list[tuple[str, str]] = attrs.Factory(list)
    statuses: dict[str, int] = attrs.Factory(dict)


def launch_arguments() -> list[str]:
    """Chromium's command-line switches that close what the guard does not see."""
    return [
        "--proxy-bypass-list=<-loopback>",  # localhost too goes through the proxy, whatever Playwright's env
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # only the proxy resolves names
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-domain-reliability",
        "--disable-sync",
        "--no-first-run",
        "--no-pings",
        # the site's own origin is plain http (no mixed content) yet a secure context, as https is
        f"--unsafely-treat-insecure-origin-as-secure={SITE_ORIGIN}",
    ]


def launch_proxy() -> dict[str, str]:
    """Playwright's ``proxy`` launch option: every connection goes through this process's proxy
    (started on first use). An invalid ``CONVERSIO_URL_ALLOW`` is an :class:`InvalidOption` here."""
    AllowList.from_env()
    return {"server": _proxy().server}


def attach(
    context: BrowserContext, source: Source, *, headers: Sequence[str] = (), cookies: Sequence[str] = ()
) -> Watch:
    """Route every request of the fresh ``context`` for ``source``; ``headers`` ('Name: value')
    and ``cookies`` ('name=value') go to the web address's own origin (its host, for cookies)."""
    extra, jar = _headers(headers), _cookies(cookies)
    home = urlsplit(source.url) if source.url is not None else None
    if jar and home is not None:
        root = f"{home.scheme}://{home.netloc}/"  # a host-only cookie, for every path
        context.add_cookies([{"name": n, "value": v, "url": root} for n, v in jar])
    guard = _Guard(Watch(source.address), source.site.files if source.site is not None else {}, home, extra)
    context.route("**/*", guard.route)
    context.on("response", guard.answered)
    context.on("requestfailed", guard.failed)
    context.on("console", guard.console)
    context.on("page", guard.opened)
    return guard.watch


@attrs.define(slots=False)  # Playwright keeps its wrapper of a bound handler on the instance
class _Guard:
    """One context's route and listeners, filling its :class:`Watch`."""

    watch: Watch
    files: Mapping[str, bytes]
    home: SplitResult | None
    extra: dict[str, str]
    #: Requests this guard stopped itself (by id, kept alive): their failure is already recorded.
    stopped: dict[int, Request] = attrs.Factory(dict)
    pages: int = 0

    def route(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        if request.url.startswith(SITE_ORIGIN + "/"):
            body = _site_file(self.files, url)
            if body is None:
                route.fulfill(status=404, body=b"")
            else:
                route.fulfill(status=200, body=body, content_type=_content_type(url.path))
        elif url.scheme not in ("http", "https"):
            self.watch.refused.append((_shown(request.url), f"the scheme {url.scheme}: is not allowed"))
            self._stop(route)
        elif self.extra and self.home is not None and _origin(url) == _origin(self.home):
            try:
                answer = route.fetch(
                    headers={**request.headers, **self.extra}, max_redirects=0, timeout=FETCH_TIMEOUT * 1000
                )
            except PlaywrightError as exc:  # the fetch failed, or the proxy refused it
                self._lost(request.url, str(exc).splitlines()[0])
                self._stop(route)
                return
            route.fulfill(response=answer)
        else:
            route.continue_()

    def answered(self, response: Response) -> None:
        self.watch.statuses[response.url] = response.status

    def failed(self, request: Request) -> None:
        failure = request.failure or "failed"
        if id(request) not in self.stopped and failure != _CANCELLED:
            self._lost(request.url, failure)

    def console(self, message: ConsoleMessage) -> None:
        if message.text.startswith(_LOCAL_REFUSED):
            self.watch.refused.append(
                (_shown(message.text.removeprefix(_LOCAL_REFUSED)), "a local file or browser page")
            )

    def opened(self, page: Page) -> None:
        self.pages += 1
        if self.pages > 1:  # a window the page opened (noopener or not): its requests were routed
            page.close()
            return
        page.on("download", lambda download: download.cancel())
        page.on(
            "websocket", lambda ws: ws.on("socketerror", lambda _: self._lost(ws.url, "the WebSocket failed"))
        )

    def _stop(self, route: Route) -> None:
        self.stopped[id(route.request)] = route.request
        route.abort("blockedbyclient")

    def _lost(self, url: str, failure: str) -> None:
        """A request that did not complete: refused by the proxy (and why), or failed."""
        reason, why = _VERDICTS.get(urlsplit(url)) or ("", failure)
        (self.watch.refused if reason == "URL_NOT_ALLOWED" else self.watch.failed).append((_shown(url), why))


def _shown(url: str) -> str:
    """A URL for messages, cut at 200 characters."""
    return url if len(url) <= 200 else url[:199] + "…"


def _origin(url: SplitResult) -> tuple[str, str, int | None]:
    return url.scheme, url.hostname or "", url.port or _DEFAULT_PORTS.get(url.scheme)


def _headers(entries: Sequence[str]) -> dict[str, str]:
    """'Name: value' entries as a mapping; anything else is an :class:`InvalidOption`."""
    parsed = {}
    for entry in entries:
        name, sep, value = entry.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name or not set(name) <= _TOKEN or any(c in value for c in "\r\n\0"):
            raise InvalidOption(f"headers are written 'Name: value', not {entry!r}", option="headers")
        parsed[name.lower()] = value
    return parsed


def _cookies(entries: Sequence[str]) -> list[tuple[str, str]]:
    """'name=value' entries as pairs; anything else is an :class:`InvalidOption`."""
    parsed = []
    for entry in entries:
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not set(name) <= _TOKEN or any(c in value for c in ";\r\n\0"):
            raise InvalidOption(f"cookies are written 'name=value', not {entry!r}", option="cookies")
        parsed.append((name, value))
    return parsed


def _site_file(files: Mapping[str, bytes], url: SplitResult) -> bytes | None:
    """The site's file at ``url``'s path, or ``None`` for a path that names none (``..``, ``/``, ``\\``)."""
    path = unquote(url.path).removeprefix("/")
    if "\\" in path or "\0" in path or any(part in ("", ".", "..") for part in path.split("/")):
        return None
    return files.get(path)


def _content_type(path: str) -> str:
    return _MEDIA_TYPES.guess_type(path)[0] or "application/octet-stream"


class _Verdicts:
    """The proxy's latest refusals by host and port (``reason``, ``why``), so that a failed
    request can say why; a host reached since is forgotten."""

    def __init__(self, size: int = 1024) -> None:
        self._seen: OrderedDict[tuple[str, int], tuple[str, str]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def note(self, host: str, port: int, verdict: tuple[str, str] | None) -> None:
        key = (host.lower(), port)
        with self._lock:
            self._seen.pop(key, None)
            if verdict is not None:
                self._seen[key] = verdict
                if len(self._seen) > self._size:
                    self._seen.popitem(last=False)

    def get(self, url: SplitResult) -> tuple[str, str] | None:
        """Why the proxy refused ``url``'s host and port, if it did."""
        key = ((url.hostname or ""), url.port or _DEFAULT_PORTS.get(url.scheme, 0))
        with self._lock:
            return self._seen.get(key)


_VERDICTS = _Verdicts()
_LOCK = threading.Lock()
_PROXIES: dict[int, Proxy] = {}  # by process id: a forked worker starts its own


def _connect(host: str, port: int) -> socket.socket:
    """A connection to a checked address of ``host`` (the proxy's connector)."""
    try:
        addresses = resolve_checked(host, port, AllowList.from_env())
    except InvalidRequest as exc:
        _VERDICTS.note(host, port, (str(exc.details.get("reason")), str(exc.details.get("why", exc))))
        raise
    error = OSError(f"{host} has no address")
    for address in addresses:
        try:
            connection = socket.create_connection((str(address), port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            error = exc
            continue
        _VERDICTS.note(host, port, None)
        return connection
    raise error


def _proxy() -> Proxy:
    with _LOCK:
        proxy = _PROXIES.get(os.getpid())
        if proxy is None:
            proxy = Proxy(_connect)
            proxy.start()
            _PROXIES.clear()
            _PROXIES[os.getpid()] = proxy
        return proxy
