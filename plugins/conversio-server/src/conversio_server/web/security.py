"""The web page's protections, applied to the whole app.

:class:`SecurityHeaders` puts ``X-Content-Type-Options: nosniff`` on every response, the strict policy
of :data:`PAGE_HEADERS` on the pages, and a sandboxing policy on everything else the API answers (a
user's HTML or SVG opened straight from ``/v1/files/{id}/content`` or a signed link cannot run).

:class:`CrossSiteGuard` refuses state-changing requests that carry no ``Authorization`` header and come
from another site, by Fetch Metadata (``Sec-Fetch-Site``) or, from browsers without it, by ``Origin``.
The page keeps its key in the tab's storage, never in a cookie, so no request rides on ambient
credentials; the guard also covers ``--dev`` mode, whose API needs no key at all, against forms and
scripts of other sites. API clients (the SDK, curl, ConvertAPI and Gotenberg clients) send neither
header and are not affected; a request with a key would need a CORS preflight the server never grants.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conversio_server.responses import error_response

#: The headers of the pages (``/``, ``/history``, ``/sign-in``): their own scripts and styles only.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    ),
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Of any other response that sets no policy of its own (files, JSON): nothing in it may run.
SANDBOX_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})


class SecurityHeaders:
    """Adds the headers above: :data:`PAGE_HEADERS` to ``page_paths``, nothing more than nosniff to
    ``exempt_paths`` (the interactive API docs, which load their own scripts), the sandbox to the rest."""

    def __init__(self, app: ASGIApp, page_paths: Iterable[str], exempt_paths: Iterable[str]) -> None:
        self.app = app
        self.page_paths = frozenset(page_paths)
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        extra = {}
        if path in self.page_paths:
            extra = PAGE_HEADERS
        elif path not in self.exempt_paths:
            extra = {"Content-Security-Policy": SANDBOX_POLICY}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                for name, value in extra.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CrossSiteGuard:
    """Refuses (403 ``FORBIDDEN``, ``details.reason`` ``"cross-site"``) a POST, PUT, PATCH or DELETE
    without ``Authorization`` that a browser sent from another site. Runs inside the request-id
    middleware, so the refusal is an ordinary error body with its request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            origin = foreign_origin(Headers(scope=scope))
            if origin is not None:
                request = Request(scope)
                response = error_response(
                    request,
                    "FORBIDDEN",
                    f"a request from another site ({origin}) may not change anything on this server "
                    "without an API key; use the server's own page, or send the key",
                    details={"reason": "cross-site", "origin": origin},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def foreign_origin(headers: Headers) -> str | None:
    """The other site a keyless request came from (its ``Origin``, or ``"cross-site"``), or ``None``
    when it came from this site, from no browser, or carries a key."""
    if "authorization" in headers:
        return None
    fetch_site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if fetch_site is not None:
        return (origin or fetch_site) if fetch_site in _FOREIGN_FETCH_SITES else None
    if origin is None:
        return None
    own = _host("//" + headers.get("host", ""))
    return None if own is not None and _host(origin) == own else origin


def _host(url: str) -> tuple[str, int | None] | None:
    """The host and port of an ``Origin`` or ``//Host`` value (80 and 443 count as no port), or
    ``None`` for ``null`` and anything unparsable."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host, None if port in (80, 443) else port
