"""What a conversion asks for, stage by stage: a conversion to a format, or an operation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from conversio._typing import str_tuple


@attrs.frozen
class ConvertStage:
    """Convert to ``target`` (through ``via`` waypoints), routed automatically."""

    target: str
    via: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    options: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        """What the stage makes, as a user names it: its target format."""
        return self.target


@attrs.frozen
class OperationStage:
    """Apply the same-format operation ``name`` (merge, resize, ...)."""

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        """What the stage does, as a user names it: its operation."""
        return self.name


Stage = ConvertStage | OperationStage
