"""What a run knows as it goes: its events, cancellation, warnings, where each file came from,
and the pace of its tasks."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from conversio.errors import Cancelled, listed
from conversio.events import Event, EventKind
from conversio.ingest import Arriving
from conversio.routing import RoutePreferences
from conversio.stores.base import Artifact

#: What a step works on: stored artifacts, and before the first step, callers' files on their way in.
Item = Artifact | Arriving


@attrs.define
class Run:
    """The state of one run: its events, cancellation and step counter."""

    preferences: RoutePreferences
    emit: Callable[[Event], None]
    cancel: threading.Event
    steps: itertools.count[int] = attrs.field(factory=itertools.count)
    warnings: list[str] = attrs.field(factory=list)
    #: the name of the user's file each artifact made in this run descends from, by id ("": several)
    origins: dict[str, str] = attrs.field(factory=dict)

    def origin(self, item: Item) -> str:
        """The user's file ``item`` was made from: a name seen in this run, or its own."""
        return (self.origins.get(item.id) if isinstance(item, Artifact) else None) or item.name

    def made(self, item: Item) -> bool:
        """Whether ``item`` was made by a step of this run (not given by the caller)."""
        return isinstance(item, Artifact) and item.id in self.origins

    def descend(self, inputs: Sequence[Item], outputs: Sequence[Artifact]) -> None:
        """Record that ``outputs`` were made from ``inputs``: of their common origin, if they have one."""
        origins = {self.origin(item) for item in inputs}
        origin = origins.pop() if len(origins) == 1 else ""
        self.origins.update((a.id, origin) for a in outputs)

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the conversion was cancelled")


@attrs.frozen
class Place:
    """Where a task sits in a run: its step, and which of the step's items it is."""

    index: int
    item: int
    items: int

    def event(self, kind: EventKind, converter: str, fraction: float, **fields: Any) -> Event:
        return Event(kind, self.index, converter, self.item, self.items, fraction, **fields)


def names(items: Sequence[Item]) -> str:
    """The user's names of ``items``, for a message."""
    return listed(item.name for item in items)


def estimate_remaining(elapsed: float, fraction: float) -> float | None:
    """Seconds still to go at the pace so far; ``None`` before the pace can be told."""
    if fraction >= 1.0:
        return 0.0
    if fraction < 0.01 or elapsed < 0.2:
        return None
    return elapsed * (1.0 - fraction) / fraction
