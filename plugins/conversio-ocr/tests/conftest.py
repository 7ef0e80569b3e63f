"""Fixtures of conversio-ocr's tests (helpers are in ocr_helpers.py and ocr_samples.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ocr_helpers import run_converter

from conversio.converters import Output


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., Output]:
    """``run(converter_id, path, limits=None, warnings=None, **options)`` → the real output."""
    counter = iter(range(1_000_000))

    def go(converter_id: str, path: Path, **kwargs: Any) -> Output:
        return run_converter(converter_id, path, tmp_path / f"out{next(counter)}", **kwargs)

    return go
