"""Request bodies held in memory (JSON, forms): bounded one by one and all together.

A body larger than its route's limit is refused with 413 ``FILE_TOO_LARGE``: before anything is read
when ``Content-Length`` says so, else (chunked) the moment it crosses the limit. The bytes of all the
bodies being read at once are capped by a :class:`ByteBudget`: a body that does not fit is
answered 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``, so that many slow or large bodies at
once cannot exhaust the server's memory.
"""

from __future__ import annotations

import threading

from starlette.requests import ClientDisconnect, Request

from conversio_server.errors import ApiError
from conversio_server.uploads import check_declared_length, too_large

#: Seconds a client is told to wait when the budget is used up (bodies are read in seconds).
RETRY_AFTER = 2


class ByteBudget:
    """A count of bytes that may be taken up to ``capacity`` and given back (thread safe)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return self._used

    def take(self, size: int) -> bool:
        """Take ``size`` bytes if they fit; ``False`` (nothing taken) when they do not."""
        with self._lock:
            if self._used + size > self.capacity:
                return False
            self._used += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self._used = max(0, self._used - size)


def _busy() -> ApiError:
    return ApiError(
        "SERVICE_UNAVAILABLE",
        "the server is reading too many request bodies at once; retry shortly",
        details={"retryAfter": RETRY_AFTER},
        headers={"Retry-After": str(RETRY_AFTER)},
    )


async def read_in_memory(request: Request, limit: int) -> bytes:
    """The whole body of ``request``, at most ``min(limit, max_json_bytes)`` bytes, counted
    against the application's budget of body bytes in memory while it is read."""
    settings = request.app.state.server.settings
    budget: ByteBudget = request.app.state.json_budget
    limit = min(limit, settings.max_json_bytes)
    check_declared_length(request, limit)
    declared = request.headers.get("content-length", "")
    held = int(declared) if declared.isdigit() else 0
    if not budget.take(held):
        raise _busy()
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large(limit, "the request body")
            if len(body) > held:
                if not budget.take(len(body) - held):
                    raise _busy()
                held = len(body)
    except ClientDisconnect:
        raise ApiError("INVALID_REQUEST", "the client went away before the body was complete") from None
    finally:
        budget.give_back(held)
    return bytes(body)
