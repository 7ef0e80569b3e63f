"""Events the engine emits while it runs a plan; the faces render them."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import attrs


class EventKind(str, Enum):
    """What an :class:`Event` reports: a plan or step started, progressed, finished, was cached or failed."""

    PLAN_STARTED = "plan_started"
    STEP_STARTED = "step_started"
    PROGRESS = "progress"
    STEP_FINISHED = "step_finished"
    STEP_CACHED = "step_cached"
    STEP_FAILED = "step_failed"
    PLAN_FINISHED = "plan_finished"
    PLAN_FAILED = "plan_failed"


@attrs.frozen
class Event:
    """Something that happened while running a plan.

    ``step`` is the index of the step in the plan (``-1`` for plan events);
    ``item`` and ``items`` say which item of a mapped bundle this is about;
    ``fraction`` is the progress of that item between 0 and 1, and ``eta``
    the seconds it is expected to take still (``None`` until it can be told).
    """

    kind: EventKind
    step: int = -1
    converter: str = ""
    item: int = 0
    items: int = 1
    fraction: float = 0.0
    message: str = ""
    eta: float | None = None
    artifacts: tuple[str, ...] = ()
    error: dict[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        data = attrs.asdict(self)
        data["kind"] = self.kind.value
        return data


EventHandler = Callable[[Event], None]
