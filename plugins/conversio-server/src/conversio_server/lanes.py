"""Lanes: which kind of engine work a job is, so one slow kind cannot fill a worker's places.

A job's *lane* is the family (the first part of a converter id: ``office``, ``media``, ``image``…) of
the slowest step its plan takes, the slowness being the family's step timeout. A worker running ``n``
jobs at once gives one lane at most ``n - 1`` of them, so a cheap job queued behind a run of slow
ones of the same key still finds a place within seconds. The lane of a spec is worked out once per
shape (input format, target, waypoints, further steps), checked and planned as the job will be.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from conversio.errors import ConversioError
from conversio_server.conversions import Order
from conversio_server.errors import ApiError

if TYPE_CHECKING:
    from conversio_server.conversions import Conversions

#: The lane of a job that cannot be planned (its input is gone, its plugin was removed): it fails
#: quickly when run, so it shares a lane with nothing slow.
UNPLANNED = ""


def shape(spec: dict[str, Any]) -> Hashable:
    """What decides a spec's route: the first input's format, the target, waypoints and steps."""
    steps = tuple((s.get("step"), tuple(s.get("via") or ())) for s in spec.get("then") or ())
    first = (spec.get("input") or {}).get("format")
    return first, spec.get("outputFormat"), tuple(spec.get("via") or ()), steps


class Lanes:
    """The lanes of a worker's running jobs, and whether a job would fit in its lane."""

    def __init__(self, conversions: Conversions, places: int) -> None:
        self.conversions = conversions
        #: the most jobs of one lane at once: all places but one (one place: that one)
        self.cap = max(1, places - 1)
        self._known: dict[Hashable, str] = {}
        self._running: dict[str, str] = {}
        self._lock = threading.Lock()

    def of(self, spec: dict[str, Any]) -> str:
        """The lane of a job's spec (planned once per shape)."""
        key = shape(spec)
        lane = self._known.get(key)
        if lane is None:
            lane = self._plan(spec)
            if lane != UNPLANNED:  # a spec that fails its check says nothing of its shape's others
                self._known[key] = lane
        return lane

    def admits(self, spec: dict[str, Any]) -> bool:
        """Whether a job of ``spec`` may start here now without its lane taking every place."""
        lane = self.of(spec)
        with self._lock:
            return Counter(self._running.values())[lane] < self.cap

    def enter(self, job_id: str, spec: dict[str, Any]) -> None:
        lane = self.of(spec)
        with self._lock:
            self._running[job_id] = lane

    def leave(self, job_id: str) -> None:
        with self._lock:
            self._running.pop(job_id, None)

    def _plan(self, spec: dict[str, Any]) -> str:
        """The family of the slowest step, planned as the job will be (its first input stands for all)."""
        conversio = self.conversions.conversio
        try:
            order = Order.of_spec(spec, [conversio.store.get(spec["inputs"][0])])
            steps = self.conversions.check(order).plan.steps
        except (ConversioError, ApiError, IndexError, KeyError):
            return UNPLANNED
        families = [step.converter.split(".", 1)[0] for step in steps]
        return max(families, key=conversio.limits.step_timeout, default=UNPLANNED)
