"""Limits that keep hostile or oversized input in check."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from conversio.errors import InvalidOption

_MIB = 1024 * 1024


@attrs.frozen
class Limits:
    """Bounds every converter honours; each may be set with ``CONVERSIO_<NAME>``.

    ``timeout`` is per step, in seconds. Sizes are in bytes. ``max_memory`` caps
    the address space of a worker process while it runs a task (0: no cap).
    """

    timeout: float = 300.0
    max_memory: int = 4096 * _MIB
    max_pixels: int = 100_000_000
    max_frames: int = 10_000
    max_pages: int = 2_000
    max_members: int = 10_000
    max_unpacked_size: int = 2048 * _MIB
    max_compression_ratio: float = 200.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Limits:
        """Defaults, then ``CONVERSIO_*`` environment variables, then ``overrides``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            raw = env.get(f"CONVERSIO_{field.name.upper()}")
            if raw is None:
                continue
            try:
                values[field.name] = float(raw) if field.type in ("float", float) else int(raw)
            except ValueError:
                raise InvalidOption(
                    f"CONVERSIO_{field.name.upper()}={raw!r} is not a number",
                    option=field.name,
                ) from None
        values.update(overrides)
        return cls(**values)
