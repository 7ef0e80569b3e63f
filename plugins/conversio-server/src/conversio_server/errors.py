"""The HTTP error contract: ``{"error": {"code", "message", "details", "requestId"}}``.

Codes that only exist at the HTTP layer live here; conversion failures keep the
codes of :mod:`conversio.errors` and are mapped to statuses by :data:`STATUS_BY_CODE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The HTTP status of every error code the service answers with.
STATUS_BY_CODE: dict[str, int] = {
    "INVALID_REQUEST": 400,
    "INVALID_OPTION": 400,
    "UNSUPPORTED_FORMAT": 400,
    "FORMAT_MISMATCH": 400,
    "UNSUPPORTED_ENCRYPTION": 400,
    "NO_ROUTE": 400,
    "INVALID_PASSWORD": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "QUOTA_EXCEEDED": 403,
    "FILE_NOT_FOUND": 404,
    "JOB_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "REQUEST_TIMEOUT": 408,
    "FILE_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "CORRUPT_FILE": 422,
    "EMPTY_FILE": 422,
    "NO_TEXT_LAYER": 422,
    # The input could not be converted: the client's file, not the server, is at fault.
    "CONVERSION_FAILED": 422,
    "TIMEOUT": 422,
    "CANCELLED": 409,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
    "PLUGIN_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,
    "INSUFFICIENT_STORAGE": 507,
    "MISSING_DEPENDENCY": 503,
    "STORE_UNAVAILABLE": 503,
}


class ApiError(Exception):
    """An error answered to an HTTP client; its status follows from its code unless given."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 500)
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        """As a job records an error: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": self.details}
