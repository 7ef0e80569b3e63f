"""The request id, and the last line of defence: an unexpected exception becomes a 500 error body
(507 ``INSUFFICIENT_STORAGE`` when it was a write that found the disk full)."""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conversio.errors import InsufficientStorage
from conversio.stores.space import is_full, out_of_space
from conversio_server.errors import STATUS_BY_CODE
from conversio_server.responses import error_body

log = logging.getLogger("conversio_server")

HEADER = "X-Request-Id"
#: Where :mod:`conversio_server.auth` leaves the ``X-RateLimit-*`` headers of a request.
RATE_LIMIT_STATE = "rate_limit_headers"
#: An incoming id is kept when it looks like one (printable, short); otherwise a new one is made.
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-Id`` on every response, honouring a sane incoming one)
    and answers an exception nothing else handled with a 500 ``INTERNAL_ERROR`` body, logged here
    with its traceback (which never reaches the client)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(HEADER, "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
                # the rate-limit headers of the key, also on files and streams the routes built themselves
                for name, value in (scope["state"].get(RATE_LIMIT_STATE) or {}).items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception(
                "unexpected error in %s %s [%s]", scope.get("method"), scope.get("path"), request_id
            )
            if started:  # the answer is on its way: the server can only cut the connection
                raise
            code, message = "INTERNAL_ERROR", "an unexpected error occurred; it has been logged"
            if is_full(exc):  # a write found the disk (or the database) full, wherever it was
                code, message = InsufficientStorage.code, out_of_space().message
            server = _server_of(scope)
            if server is not None:
                server.metrics.errors.labels(code).inc()
            body = json.dumps(error_body(code, message, {}, request_id)).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": STATUS_BY_CODE[code],
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (HEADER.lower().encode(), request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


def _server_of(scope: Scope) -> Any:
    app = scope.get("app")
    state = getattr(app, "state", None)
    return getattr(state, "server", None)
