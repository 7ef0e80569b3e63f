"""Runs blocking conversions on threads, a bounded number at a time, refusing work beyond a bounded queue.

The event loop never blocks: a request submits its conversion here and awaits the future.
The threads block on the engine, which does the real work in worker processes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from conversio_server.errors import ApiError
from conversio_server.metrics import Metrics

T = TypeVar("T")


class ConversionRunner:
    """``running`` conversions run at once and up to ``max_queued`` wait; beyond that ``submit``
    answers 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` instead of letting requests pile up."""

    def __init__(self, running: int, max_queued: int, metrics: Metrics, *, retry_after: int = 2) -> None:
        self.running = running
        self.max_queued = max_queued
        self.metrics = metrics
        self.retry_after = retry_after
        self._threads = ThreadPoolExecutor(max_workers=running, thread_name_prefix="conversio-server")
        self._lock = threading.Lock()
        self._pending = 0  # submitted and not finished: running + queued
        self._active = 0

    @property
    def capacity(self) -> int:
        return self.running + self.max_queued

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Queue ``fn``; ``SERVICE_UNAVAILABLE`` (503) when running and queued work is at capacity."""
        with self._lock:
            if self._pending >= self.capacity:
                raise ApiError(
                    "SERVICE_UNAVAILABLE",
                    f"the server is busy ({self.running} conversions running, {self.max_queued} waiting); "
                    "retry later",
                    details={"running": self.running, "queued": self.max_queued},
                    headers={"Retry-After": str(self.retry_after)},
                )
            self._pending += 1
            self._publish()

        def run() -> T:
            with self._lock:
                self._active += 1
                self._publish()
            try:
                return fn()
            finally:
                with self._lock:
                    self._active -= 1
                    self._pending -= 1
                    self._publish()

        future = self._threads.submit(run)
        future.add_done_callback(self._dropped)
        return future

    def withdraw(self, future: Future[Any]) -> bool:
        """Take back work still waiting for a thread (its place frees at once); ``False`` once it runs."""
        return future.cancel()

    def _dropped(self, future: Future[Any]) -> None:
        """A withdrawn (or, on close, dropped) submission gives its place back: ``run`` never ran."""
        if future.cancelled():
            with self._lock:
                self._pending -= 1
                self._publish()

    def _publish(self) -> None:
        self.metrics.in_flight.set(self._active)
        self.metrics.queued.set(self._pending - self._active)

    def close(self) -> None:
        """Drop queued work; running conversions finish in the background."""
        self._threads.shutdown(wait=False, cancel_futures=True)


async def wait_for(future: Future[T], timeout: float) -> T | None:
    """The result once ``future`` is done within ``timeout`` seconds, else ``None`` (the work goes on).

    Its exception, if any, is raised here (or, after a timeout, left to whoever looks at the job)."""
    wrapped = asyncio.wrap_future(future)
    wrapped.add_done_callback(_retrieve)
    try:
        return await asyncio.wait_for(asyncio.shield(wrapped), timeout)
    except TimeoutError:
        return None


def _retrieve(done: asyncio.Future[Any]) -> None:
    """Mark an outcome as seen, so asyncio does not log an exception nobody awaited."""
    if not done.cancelled():
        done.exception()
