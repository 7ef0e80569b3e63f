"""Fixtures of conversio-pdf's tests (helpers are in pdf_helpers.py and pdf_samples.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pdf_helpers import run_converter
from pdf_samples import make_pdf

from conversio.converters import Output


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., list[Output]]:
    """``run(converter_id, path_or_paths, limits=None, progress=None, **options)`` → real outputs."""
    counter = iter(range(1_000_000))

    def go(converter_id: str, paths: Any, **kwargs: Any) -> list[Output]:
        return run_converter(converter_id, paths, tmp_path / f"out{next(counter)}", **kwargs)

    return go


@pytest.fixture
def three_pages(tmp_path: Path) -> Path:
    """An A4 PDF of three pages saying "Page 1 alpha", "Page 2 bravo", "Page 3 charlie"."""
    return make_pdf(tmp_path / "three.pdf", pages=3, words=["alpha", "bravo", "charlie"])
