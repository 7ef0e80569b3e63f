"""ConvertAPI's error body: ``{"Code": <int>, "Message": "...", "InvalidParameters": {...} | null}``.

Every failure on a ConvertAPI route (bad parameters, auth, conversion errors, anything unexpected)
is answered in this shape by :class:`ConvertApiRoute`, with the HTTP status conversio gives the
same failure on its native API. ``Code`` is that status times ten plus a variant (``4001`` for an
invalid option), so clients that only look at the first three digits see the status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import Response

from conversio.errors import ConversioError
from conversio.stores.space import is_full, out_of_space
from conversio_server.auth import rate_limit_headers
from conversio_server.errors import STATUS_BY_CODE, ApiError
from conversio_server.responses import JSON

log = logging.getLogger("conversio_server.convertapi")

#: conversio's error codes as ConvertAPI ``Code`` numbers (documented in docs/reference/convertapi.md).
CODE_NUMBERS: dict[str, int] = {
    "INVALID_REQUEST": 4000,
    "INVALID_OPTION": 4001,
    "INVALID_PASSWORD": 4002,
    "UNSUPPORTED_FORMAT": 4003,
    "NO_ROUTE": 4004,
    "FORMAT_MISMATCH": 4005,
    "UNSUPPORTED_ENCRYPTION": 4006,
    "UNAUTHORIZED": 4010,
    "FORBIDDEN": 4030,
    "QUOTA_EXCEEDED": 4031,
    "FILE_NOT_FOUND": 4040,
    "CONVERTER_NOT_FOUND": 4041,
    "NOT_FOUND": 4042,
    "JOB_NOT_FOUND": 4043,
    "METHOD_NOT_ALLOWED": 4050,
    "REQUEST_TIMEOUT": 4080,
    "CANCELLED": 4090,
    "FILE_TOO_LARGE": 4130,
    "UNSUPPORTED_MEDIA_TYPE": 4150,
    "CORRUPT_FILE": 4220,
    "EMPTY_FILE": 4223,
    "NO_TEXT_LAYER": 4224,
    "CONVERSION_FAILED": 4221,
    "TIMEOUT": 4222,
    "RATE_LIMITED": 4290,
    "INTERNAL_ERROR": 5000,
    "PLUGIN_ERROR": 5001,
    "SERVICE_UNAVAILABLE": 5030,
    "MISSING_DEPENDENCY": 5031,
    "STORE_UNAVAILABLE": 5032,
    "INSUFFICIENT_STORAGE": 5070,
}

#: Statuses of the codes that only exist on the ConvertAPI routes.
_EXTRA_STATUS = {"CONVERTER_NOT_FOUND": 404}


class ConvertApiError(Exception):
    """A failure answered in ConvertAPI's shape; ``invalid`` maps parameter names to their problems."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        invalid: Mapping[str, Sequence[str]] | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.invalid = {name: list(problems) for name, problems in (invalid or {}).items()}
        self.status = status or _EXTRA_STATUS.get(code) or STATUS_BY_CODE.get(code, 500)
        self.headers = dict(headers or {})


def invalid_parameter(name: str, problem: str, code: str = "INVALID_REQUEST") -> ConvertApiError:
    """A 400 naming one bad parameter."""
    return ConvertApiError(code, f"Parameter validation error: {name}: {problem}", invalid={name: [problem]})


def body(code: str, message: str, invalid: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    return {
        "Code": CODE_NUMBERS.get(code, 5000),
        "Message": message,
        "InvalidParameters": {k: list(v) for k, v in invalid.items()} if invalid else None,
    }


def _as_convertapi(exc: Exception, request: Request) -> ConvertApiError:
    """Any exception as the ConvertAPI failure a client sees."""
    if isinstance(exc, ConvertApiError):
        return exc
    if isinstance(exc, ApiError):
        return ConvertApiError(exc.code, exc.message, status=exc.status, headers=exc.headers)
    if isinstance(exc, ConversioError):
        option = exc.details.get("option") if exc.code == "INVALID_OPTION" else None
        named = {str(option): [exc.message]} if option else None
        if STATUS_BY_CODE.get(exc.code, 500) >= 500:
            log.error("conversion error %s: %s (details %s)", exc.code, exc.message, exc.details)
        return ConvertApiError(exc.code, exc.message, invalid=named)
    if isinstance(exc, RequestValidationError):
        invalid: dict[str, list[str]] = {}
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
            invalid.setdefault(where, []).append(str(err.get("msg", "invalid")))
        return ConvertApiError("INVALID_REQUEST", "Parameter validation error.", invalid=invalid)
    if isinstance(exc, HTTPException):
        code = {
            401: "UNAUTHORIZED",
            403: "FORBIDDEN",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            413: "FILE_TOO_LARGE",
            429: "RATE_LIMITED",
            503: "SERVICE_UNAVAILABLE",
        }.get(exc.status_code)
        code = code or ("INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR")
        return ConvertApiError(code, str(exc.detail), headers=dict(exc.headers or {}))
    if is_full(exc):  # a write found the disk (or the database) full, wherever it was
        log.error("no room left on the disk in %s %s: %s", request.method, request.url.path, exc)
        return ConvertApiError("INSUFFICIENT_STORAGE", out_of_space().message)
    log.exception("unexpected error in %s %s", request.method, request.url.path)
    return ConvertApiError("INTERNAL_ERROR", "An unexpected error occurred; it has been logged.")


def error_response(request: Request, exc: Exception) -> Response:
    """The ConvertAPI error body for ``exc``, counted in the server's metrics."""
    failure = _as_convertapi(exc, request)
    server = getattr(request.app.state, "server", None)
    if server is not None:
        server.metrics.errors.labels(failure.code).inc()
    return JSON(
        body(failure.code, failure.message, failure.invalid),
        status_code=failure.status,
        headers={**rate_limit_headers(request), **failure.headers},
    )


class ConvertApiRoute(APIRoute):
    """A route whose every failure, including those of its dependencies, is a ConvertAPI error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure gets ConvertAPI's shape, never a traceback
                return error_response(request, exc)

        return handle
