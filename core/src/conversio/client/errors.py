"""The client's errors: every answer the server refuses becomes a typed :class:`ApiError`.

Each carries the server's stable ``code``, its ``message`` and ``details``, the HTTP ``status`` and the
``request_id`` to quote when asking the operator. The class says what to do about it; the code says
exactly what happened.
"""

from __future__ import annotations

import json
from typing import Any


class ClientError(Exception):
    """Base of everything the client raises."""

    def __init__(self, message: str, *, code: str = "CLIENT_ERROR", details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class TransportError(ClientError):
    """The server could not be reached or the connection broke (after the retries)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="TRANSPORT_ERROR")


class ApiError(ClientError):
    """An error answer of the server (``{"error": {"code", "message", "details", "requestId"}}``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status
        self.request_id = request_id
        #: Seconds the server asked to wait before trying again (429 and 503), when it said.
        self.retry_after = retry_after

    def __str__(self) -> str:
        suffix = (
            f" (HTTP {self.status}, request {self.request_id})"
            if self.request_id
            else f" (HTTP {self.status})"
        )
        return f"{self.code}: {self.message}{suffix}"


class BadRequest(ApiError):
    """400: the request is invalid (``INVALID_REQUEST``, ``INVALID_OPTION``, ``UNSUPPORTED_FORMAT``…)."""


class Unauthorized(ApiError):
    """401: no key, an unknown or revoked key, or a bad signed link."""


class QuotaExceeded(ApiError):
    """403: the key's monthly conversions are used up, or the key lacks the scope."""


class NotFound(ApiError):
    """404: no such file, result or job (or it expired)."""


class Conflict(ApiError):
    """409: the request clashes with the state of the job (an ``Idempotency-Key`` reused…)."""


class FileTooLarge(ApiError):
    """413: a file or the request is over the key's size limit."""


class ConversionError(ApiError):
    """422: the file could not be converted (``CORRUPT_FILE``, ``CONVERSION_FAILED``, ``TIMEOUT``)."""


class RateLimited(ApiError):
    """429: too many requests or jobs for the key right now; ``retry_after`` says how long to wait."""


class ServerError(ApiError):
    """5xx: the server failed."""


class ServiceUnavailable(ServerError):
    """503: the server is saturated or an engine is missing; try again later."""


class JobFailed(ClientError):
    """A job ended ``failed`` or ``cancelled``; ``job`` is its last state, the code is the job's error's."""

    def __init__(self, job: Any) -> None:
        error = job.error or {}
        code = str(error.get("code") or ("CANCELLED" if job.status == "cancelled" else "CONVERSION_FAILED"))
        message = str(error.get("message") or f"the job ended {job.status}")
        super().__init__(f"job {job.id}: {message}", code=code, details=dict(error.get("details") or {}))
        self.job = job


class WaitTimeout(ClientError):
    """A wait for a job or batch ran out of time; the work goes on on the server."""

    def __init__(self, message: str, *, job_ids: list[str]) -> None:
        super().__init__(message, code="WAIT_TIMEOUT", details={"jobIds": job_ids})


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: QuotaExceeded,
    404: NotFound,
    409: Conflict,
    413: FileTooLarge,
    422: ConversionError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def api_error(status: int, body: bytes, headers: Any, retry_after: float | None = None) -> ApiError:
    """The typed error of an error answer (a body that is not the error contract still gives one)."""
    error: dict[str, Any] = {}
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
            error = parsed["error"]
    except ValueError:
        pass
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    text = body[:200].decode("utf-8", "replace").strip()
    return kind(
        str(error.get("message") or text or f"HTTP {status}"),
        code=str(error.get("code") or f"HTTP_{status}"),
        status=status,
        request_id=str(error.get("requestId") or headers.get("x-request-id") or "") or None,
        details=error.get("details") if isinstance(error.get("details"), dict) else {},
        retry_after=retry_after,
    )
