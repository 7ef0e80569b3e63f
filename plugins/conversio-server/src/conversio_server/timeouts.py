"""Slow clients are cut off: request headers and bodies must arrive within the read timeout.

uvicorn bounds only the idle time between requests (keep-alive). Two guards add the rest:

* :func:`guarded_protocol`: the HTTP protocol of ``conversio serve``. A request's headers must be
  complete ``read_timeout`` seconds after the connection opened or the previous answer ended; a
  client still sending them then gets 408 ``REQUEST_TIMEOUT`` and the connection is closed.
* :class:`BodyTimeoutMiddleware`: while the application waits for more of a body, the client must
  send something within ``read_timeout`` seconds, and overall at least ``min_body_rate`` bytes a
  second (counted over the time spent waiting for it, after a first ``read_timeout`` of grace), so
  that a trickle of a byte now and then cannot hold a request open for ever. Beyond, the request is
  answered 408 ``REQUEST_TIMEOUT`` and the connection closed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from conversio_server.errors import ApiError
from conversio_server.middleware import new_request_id

#: The answer's headers: the rest of a late body is never read, so the connection cannot be reused.
_CLOSE = {"Connection": "close"}


def too_slow(what: str, timeout: float) -> ApiError:
    return ApiError(
        "REQUEST_TIMEOUT",
        f"{what} arrived too slowly (read timeout {timeout:g} s); send it again",
        details={"readTimeout": timeout},
        headers=_CLOSE,
    )


class BodyTimeoutMiddleware:
    """Bounds every wait of the application for request body data (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, read_timeout: float, min_body_rate: float) -> None:
        self.app = app
        self.read_timeout = read_timeout
        self.min_body_rate = min_body_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _BoundedReceive(receive, self.read_timeout, self.min_body_rate), send)


class _BoundedReceive:
    def __init__(self, receive: Receive, timeout: float, min_rate: float) -> None:
        self._receive = receive
        self._timeout = timeout
        self._min_rate = min_rate
        self._body_done = False
        self._received = 0
        self._waited = 0.0

    async def __call__(self) -> Message:
        if self._body_done:  # waiting for the disconnect (streamed answers): not bounded
            return await self._receive()
        started = time.monotonic()
        try:
            message = await asyncio.wait_for(self._receive(), self._timeout)
        except TimeoutError:
            raise too_slow("the request body", self._timeout) from None
        self._waited += time.monotonic() - started
        if message["type"] != "http.request":
            return message
        self._received += len(message.get("body", b""))
        self._body_done = not message.get("more_body", False)
        if not self._body_done and self._waited > self._timeout + self._received / self._min_rate:
            raise too_slow("the request body", self._timeout)
        return message


def guarded_protocol(read_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing connections whose request headers are late."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None
        _request_begun = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self._request_begun = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._disarm()
            self._request_begun = False
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            pipelined = bool(self.pipeline)
            super().on_response_complete()
            if not pipelined and not self.transport.is_closing():
                self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(read_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self._request_begun:
                self.transport.write(_timeout_answer(read_timeout))
            self.transport.close()

    return HeaderTimeoutProtocol


def _timeout_answer(timeout: float) -> bytes:
    """The raw 408 for a request whose headers never completed (no application saw it)."""
    error = too_slow("the request headers", timeout)
    body = json.dumps(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "details": error.details,
                "requestId": new_request_id(),
            }
        }
    ).encode()
    head: list[Any] = [
        b"HTTP/1.1 408 Request Timeout",
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body
