"""How the Gotenberg routes answer: the trace of a request, the result (one file, or a zip of several)
named after ``Gotenberg-Output-Filename``, and every failure as Gotenberg's plain-text error with
Gotenberg's status (never a traceback).

conversio's error codes become the statuses Gotenberg answers for the same failure: 400 for a bad
form value or a file that cannot be converted, 403 for a URL the outbound policy refuses, 409 for a
page that failed a ``failOn…`` check, 503 for a conversion that ran out of time (Gotenberg's
``--api-timeout``) or a server that is full, 413 for a body too large, 401 without a valid key.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import attrs
from fastapi import Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from conversio.api import Conversio, Result
from conversio.errors import ConversioError
from conversio.stores.base import Artifact
from conversio.stores.space import is_full
from conversio_server.auth import rate_limit_headers
from conversio_server.bundles import write_zip
from conversio_server.errors import ApiError
from conversio_server.routes.common import artifact_response, content_disposition, temporary_file_response
from conversio_server.service import Server

log = logging.getLogger("conversio_server.gotenberg")

TRACE = "Gotenberg-Trace"
OUTPUT_FILENAME = "Gotenberg-Output-Filename"

#: Gotenberg's status for each conversio error code; a code not listed answers 500.
STATUS_BY_CODE: Mapping[str, int] = {
    "INVALID_REQUEST": 400,
    "INVALID_OPTION": 400,
    "INVALID_PASSWORD": 400,
    "UNSUPPORTED_FORMAT": 400,
    "FORMAT_MISMATCH": 400,
    "UNSUPPORTED_ENCRYPTION": 400,
    "NO_ROUTE": 400,
    "CORRUPT_FILE": 400,
    "EMPTY_FILE": 400,
    "NO_TEXT_LAYER": 400,
    "CONVERSION_FAILED": 400,
    "FILE_NOT_FOUND": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "QUOTA_EXCEEDED": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "REQUEST_TIMEOUT": 408,
    "CANCELLED": 409,
    "FILE_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
    "TIMEOUT": 503,
    "SERVICE_UNAVAILABLE": 503,
    "MISSING_DEPENDENCY": 503,
    "STORE_UNAVAILABLE": 503,
    "INSUFFICIENT_STORAGE": 507,
}

#: Details of a Chromium failure that a ``failOn…`` form field asked for (Gotenberg answers 409).
_PAGE_CHECKS = ("status", "urls", "exceptions")

_REASONS = {
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class GotenbergError(Exception):
    """A failure answered as Gotenberg does: ``status`` and a plain-text ``message``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON an error webhook receives."""
        return {"status": self.status, "message": self.message}


def trace_of(request: Request) -> str:
    """The request's ``Gotenberg-Trace``: the client's, else a new UUID (kept for the request)."""
    trace = getattr(request.state, "gotenberg_trace", None)
    if trace is None:
        trace = request.headers.get(TRACE, "").strip()[:256] or str(uuid.uuid4())
        request.state.gotenberg_trace = trace
    return str(trace)


def wanted_name(request: Request) -> str:
    """The request's ``Gotenberg-Output-Filename``: its last path part, or ``""``."""
    return request.headers.get(OUTPUT_FILENAME, "").replace("\\", "/").rsplit("/", 1)[-1].strip()


def output_name(wanted: str, fallback: str, extension: str) -> str:
    """The result's file name: ``wanted`` with ``extension`` added, as Gotenberg does even to a name
    that has one; else ``fallback``."""
    return f"{wanted}.{extension}" if wanted else fallback


def as_gotenberg(exc: BaseException, trace: str = "") -> GotenbergError:
    """Any failure as the error a Gotenberg client sees; the unexpected ones are logged."""
    if isinstance(exc, GotenbergError):
        return exc
    if isinstance(exc, ApiError | ConversioError):
        status = _status(exc.code, exc.details)
        if exc.code == "UNAUTHORIZED":
            return GotenbergError(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="conversio"'})
        if status >= 500 and exc.code != "TIMEOUT":
            log.error("[%s] %s: %s", trace, exc.code, exc.message)
        headers = exc.headers if isinstance(exc, ApiError) else {}
        return GotenbergError(status, _first_cause(exc.message, exc.details), headers)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        return GotenbergError(status, _REASONS.get(status, str(exc.detail)), dict(exc.headers or {}))
    if is_full(exc):
        log.error("[%s] no room left on the disk: %s", trace, exc)
        return GotenbergError(507, "Insufficient Storage: the server's disk is full")
    log.error("[%s] unexpected error", trace, exc_info=exc)
    return GotenbergError(500, _REASONS[500])


def job_error(error: Mapping[str, Any]) -> GotenbergError:
    """A failed or cancelled job's error (``code``, ``message``, ``details``) as Gotenberg's."""
    code, details = str(error.get("code", "")), error.get("details") or {}
    if code == "CANCELLED":
        return GotenbergError(503, _REASONS[503])
    return GotenbergError(_status(code, details), _first_cause(str(error.get("message", "")), details))


def _first_cause(message: str, details: Mapping[str, Any]) -> str:
    """The message of the first failure when the engine tried other routes after it (the later
    ones fail for lack of the first route's options, which says nothing of the cause)."""
    attempts = details.get("attempts")
    if isinstance(attempts, list) and attempts and isinstance(attempts[0], Mapping):
        return str(attempts[0].get("message") or message)
    return message


def _status(code: str, details: Mapping[str, Any]) -> int:
    if code == "INVALID_REQUEST" and details.get("reason") == "URL_NOT_ALLOWED":
        return 403
    if code == "CONVERSION_FAILED" and any(key in details for key in _PAGE_CHECKS):
        return 409
    return STATUS_BY_CODE.get(code, 500)


def error_response(request: Request, exc: BaseException) -> Response:
    """``exc`` as Gotenberg's plain-text error, with the trace and the key's rate-limit headers."""
    trace = trace_of(request)
    failure = as_gotenberg(exc, trace)
    server = getattr(request.app.state, "server", None)
    if server is not None:
        server.metrics.errors.labels(f"GOTENBERG_{failure.status}").inc()
    log.info("[%s] %s %s answered %d", trace, request.method, request.url.path, failure.status)
    headers = {**rate_limit_headers(request), **failure.headers, TRACE: trace}
    return PlainTextResponse(failure.message, status_code=failure.status, headers=headers)


class GotenbergRoute(APIRoute):
    """A route that answers with ``Gotenberg-Trace``, and every failure (its dependencies' too) as
    Gotenberg's plain-text error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:  # every failure in Gotenberg's shape, never a traceback
                return error_response(request, exc)
            response.headers[TRACE] = trace_of(request)
            return response

        return handle


# -- results -----------------------------------------------------------------------------------------

#: The name of a zip of several results when the client names none.
BUNDLE_NAME = "results.zip"
#: A part of a split PDF, as conversio-pdf names it.
_PART = re.compile(r"(?P<stem>.+)-part(?P<number>\d+)\.pdf")


@attrs.frozen
class Payload:
    """A result as a webhook receives it: its content, file name and media type."""

    content: bytes
    filename: str
    media_type: str


def _extension(artifact: Artifact) -> str:
    name = artifact.name.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1] if "." in name.strip(".") else artifact.format


def member_names(artifacts: Sequence[Artifact], sources: Sequence[str] = ()) -> list[str]:
    """Gotenberg's names for the files of a zip: a part of a split PDF ``{name}_{n}.pdf`` (from 0,
    ``name`` the upload's when ``sources`` has it: ``memo.docx_0.pdf``); with ``sources`` (one upload's
    name per result) ``{upload}.pdf``; else the results' own names."""
    parts = [_PART.fullmatch(a.name) for a in artifacts]
    if any(parts):
        by_stem = {source.rsplit(".", 1)[0]: source for source in sources}
        return [
            f"{by_stem.get(part['stem'], part['stem'])}_{int(part['number']) - 1}.pdf" if part else a.name
            for a, part in zip(artifacts, parts, strict=True)
        ]
    if sources and len(sources) == len(artifacts):
        return [f"{source}.{_extension(a)}" for source, a in zip(sources, artifacts, strict=True)]
    return [a.name for a in artifacts]


def payload(conversio: Conversio, wanted: str, sources: Sequence[str], result: Result) -> Payload:
    """The result as one file: itself, or a zip of several results (blocking; read in memory)."""
    artifacts, store = result.artifacts, conversio.store
    if len(artifacts) == 1:
        (artifact,) = artifacts
        with store.open(artifact.id) as reader:
            content = reader.read()
        name = output_name(wanted, artifact.name, _extension(artifact))
        return Payload(content, name, conversio.media_type(artifact.format))
    with store.scratch_dir() as folder:
        content = write_zip(store, artifacts, folder, member_names(artifacts, sources)).read_bytes()
    return Payload(content, output_name(wanted, BUNDLE_NAME, "zip"), "application/zip")


async def respond(
    request: Request, result: Result, content: bytes | None, sources: Sequence[str] = ()
) -> Response:
    """The result as the response: the file itself (``content`` when it was read already), or a zip
    of several (:func:`member_names`), named after ``Gotenberg-Output-Filename``."""
    server: Server = request.app.state.server
    artifacts, wanted = result.artifacts, wanted_name(request)
    if len(artifacts) == 1:
        (artifact,) = artifacts
        response = await artifact_response(request, artifact, content)
        name = output_name(wanted, artifact.name, _extension(artifact))
        response.headers["Content-Disposition"] = content_disposition(name)
        return response
    names = member_names(artifacts, sources)
    path = await run_in_threadpool(write_zip, server.store, artifacts, server.scratch_folder, names)
    return temporary_file_response(request, path, output_name(wanted, BUNDLE_NAME, "zip"), "application/zip")
