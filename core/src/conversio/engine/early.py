"""Early start: the first step reads the callers' files in place while the store takes its copies.

Files still arriving (:class:`~conversio.ingest.Arriving`) are read where they are when
the result cache is off, or when they are big: then storing them costs more than a
speculative start the cache may stop. Once the last of a task's inputs is stored, the
thread that stored it asks the cache (no thread of its own), and a hit stops the task. A
result is kept only if every file is still what was sniffed; otherwise the step runs
again on the stored copies.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING

import attrs

from conversio.engine.caching import cache_key
from conversio.engine.executors import CancelFlag
from conversio.engine.fusion import Fused
from conversio.engine.state import Item, Place, Run
from conversio.engine.steps import Call
from conversio.errors import ConversioError
from conversio.ingest import Arriving, settled
from conversio.stores.base import Artifact

if TYPE_CHECKING:
    from conversio.engine.execution import StepRunner

#: With the result cache on, the first step waits for its inputs to be stored (their hashes
#: may find a cached result) unless they are this big together.
EARLY_START_BYTES = 16 * 1024 * 1024


def settle_unless_early(items: Sequence[Item], cache: bool) -> list[Item]:
    """``items`` as the first step takes them: files still arriving stay so (read in place) when
    the result cache is off or they are big together (:data:`EARLY_START_BYTES`); otherwise
    the step waits for the store to have them."""
    arriving = [item for item in items if isinstance(item, Arriving)]
    if not cache or sum(a.size for a in arriving) >= EARLY_START_BYTES:
        return list(items)
    return [settled(item) for item in items]


@attrs.frozen
class AnyOf:
    """A cancel flag that is set when any of ``flags`` is."""

    flags: tuple[CancelFlag, ...]

    def is_set(self) -> bool:
        return any(flag.is_set() for flag in self.flags)


class Countdown:
    """Counts down from ``count``, in any thread; :meth:`done` tells the one call that ends it."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()

    def done(self) -> bool:
        """Count one down; true for the call that reaches zero."""
        with self._lock:
            self._left -= 1
            return self._left == 0


@attrs.frozen
class Lookup:
    """A task's inputs once stored, their cache key and what the cache holds for it."""

    stored: list[Artifact]
    key: str
    cached: list[Artifact] | None


def run_early(
    steps: StepRunner, step: Call | Fused, inputs: Sequence[Item], run: Run, place: Place
) -> list[Artifact]:
    """Run ``step`` on the callers' own files while the store takes its copies.

    The task runs in this thread, as any other (an engine may tie its processes to the
    thread that started them).
    """
    stop = threading.Event()
    lookup = _when_stored(steps, step, inputs, run, place, stop)
    failure: ConversioError | None = None
    try:
        artifacts = steps.execute(step, inputs, run, place, AnyOf((run.cancel, stop)))
    except ConversioError as exc:
        artifacts, failure = [], exc
    try:
        found = lookup.result()
    except BaseException:  # an input could not be stored: its step's results go too
        steps.discard(artifacts)
        raise
    if found.cached is not None or not all(i.unchanged() for i in inputs if isinstance(i, Arriving)):
        steps.discard(artifacts)
        return found.cached if found.cached is not None else steps.task(step, found.stored, run, place)
    if failure is not None:
        raise failure
    steps.cache.keep(found.key, artifacts)
    return artifacts


def _when_stored(
    steps: StepRunner,
    step: Call | Fused,
    inputs: Sequence[Item],
    run: Run,
    place: Place,
    stop: threading.Event,
) -> Future[Lookup]:
    """The :class:`Lookup` of ``inputs``, made by whichever thread stores the last of them;
    ``stop`` is set when the running task is no longer wanted (a cached result, or an input
    that could not be stored)."""
    found: Future[Lookup] = Future()
    pending = [item.stored for item in inputs if isinstance(item, Arriving)]
    countdown = Countdown(len(pending))

    def arrived(done: Future[Artifact]) -> None:
        if done.cancelled() or done.exception() is not None:
            stop.set()  # an input that cannot be stored takes the task's result with it
        if not countdown.done():
            return
        try:
            stored = [settled(item) for item in inputs]
            key = cache_key(step, stored)
            cached = steps.cache.find(key, step.converter, run, place)
        except BaseException as exc:
            stop.set()
            found.set_exception(exc)
            return
        if cached is not None:
            stop.set()
        found.set_result(Lookup(stored, key, cached))

    for future in pending:
        future.add_done_callback(arrived)
    return found
