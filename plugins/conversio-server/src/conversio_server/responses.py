"""Error responses and the handlers that turn every failure into the one error body.

``{"error": {"code", "message", "details", "requestId"}}``, with the status of
:data:`~conversio_server.errors.STATUS_BY_CODE`; never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from conversio.errors import ConversioError
from conversio_server.errors import STATUS_BY_CODE, ApiError

log = logging.getLogger("conversio_server")

_CODE_BY_HTTP_STATUS = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "FILE_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


class JSON(JSONResponse):
    """A JSON response that renders any leftover value (paths, enums) as a string."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or "")


def error_body(code: str, message: str, details: Mapping[str, Any] | None, request_id: str) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "details": dict(details or {}), "requestId": request_id}
    }


def error_response(
    request: Request,
    code: str,
    message: str,
    *,
    status: int | None = None,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The error body for ``code``; counted in the metrics when the app has them."""
    server = getattr(request.app.state, "server", None)
    if server is not None:
        server.metrics.errors.labels(code).inc()
    return JSON(
        error_body(code, message, details, request_id_of(request)),
        status_code=status or STATUS_BY_CODE.get(code, 500),
        headers=dict(headers or {}),
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(
        request, exc.code, exc.message, status=exc.status, details=exc.details, headers=exc.headers
    )


async def _conversio_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConversioError)
    status = STATUS_BY_CODE.get(exc.code, 500)
    if status >= 500:
        log.error("conversion error %s: %s (details %s)", exc.code, exc.message, exc.details)
    return error_response(request, exc.code, exc.message, status=status, details=exc.details)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "location": [str(p) for p in err.get("loc", ())],
            "message": str(err.get("msg", "")),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]
    first = problems[0] if problems else {"location": [], "message": "invalid request"}
    where = ".".join(first["location"])
    return error_response(
        request,
        "INVALID_REQUEST",
        f"{where}: {first['message']}" if where else str(first["message"]),
        details={"errors": problems},
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_BY_HTTP_STATUS.get(
        exc.status_code, "INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
    )
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(request, code, message, status=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Route every known kind of failure to the error body (unexpected ones: see the middleware)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ConversioError, _conversio_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
