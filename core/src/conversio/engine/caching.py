"""The result cache: a step's outputs, found again by a digest of everything that made them
(each converter's id and version, its options, and the inputs' content, name and format)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from conversio.engine.fusion import Fused
from conversio.engine.state import Place, Run
from conversio.engine.steps import Call
from conversio.events import EventKind
from conversio.stores.base import Artifact, ArtifactStore


def cache_key(step: Call | Fused, inputs: Sequence[Artifact]) -> str:
    """A digest of everything that determines a step's output."""
    material = json.dumps(
        [
            [[c.spec.id, c.spec.version, sorted(c.options.items())] for c in step.calls],
            [(a.sha256, a.name, a.format) for a in inputs],
        ],
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


class ResultCache:
    """The store's cache of step results; ``enabled=False`` neither finds nor keeps any."""

    def __init__(self, store: ArtifactStore, enabled: bool) -> None:
        self.store = store
        self.enabled = enabled

    def find(self, key: str, converter: str, run: Run, place: Place) -> list[Artifact] | None:
        """The artifacts cached under ``key`` (announced as a cached step), if any."""
        if not self.enabled:
            return None
        cached = self.store.cache_get(key)
        if cached is None:
            return None
        artifacts = [self.store.get(i) for i in cached]
        run.emit(place.event(EventKind.STEP_CACHED, converter, 1.0, artifacts=tuple(cached)))
        return artifacts

    def keep(self, key: str, artifacts: Sequence[Artifact]) -> None:
        if self.enabled:
            self.store.cache_put(key, [a.id for a in artifacts])
