"""Fixtures of conversio-image's tests (helpers are in image_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from image_helpers import run_spec, spec_for

from conversio.converters import Output
from conversio.limits import Limits


@pytest.fixture
def convert(tmp_path: Path) -> Callable[..., list[Output]]:
    """``convert(path, source, target, limits=None, **options)`` → outputs of the real converter."""
    counter = iter(range(1_000_000))

    def run(
        path: Path, source: str, target: str, limits: Limits | None = None, **options: Any
    ) -> list[Output]:
        return run_spec(spec_for(source, target), path, tmp_path / f"out{next(counter)}", limits, **options)

    return run


@pytest.fixture
def operate(tmp_path: Path) -> Callable[..., list[Output]]:
    """``operate(path, fmt, operation, limits=None, **options)`` → outputs of the real operation."""
    counter = iter(range(1_000_000))

    def run(
        path: Path, fmt: str, operation: str, limits: Limits | None = None, **options: Any
    ) -> list[Output]:
        return run_spec(
            spec_for(fmt, fmt, operation), path, tmp_path / f"op{next(counter)}", limits, **options
        )

    return run
