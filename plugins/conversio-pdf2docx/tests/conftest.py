"""Fixtures of conversio-pdf2docx's tests (the sample PDFs are drawn in pdf2docx_samples.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conversio_pdf2docx.specs import all_specs

from conversio.converters import ConversionRequest, InputFile, Output
from conversio.limits import Limits

Run = Callable[..., list[Output]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """``run(pdf, limits=None, warnings=None, to="docx", **options)``: the converter to ``to``
    called as the engine calls it."""
    specs = {spec.target: spec for spec in all_specs()}
    counter = iter(range(1_000_000))

    def go(
        path: Path,
        limits: Limits | None = None,
        warnings: list[str] | None = None,
        to: str = "docx",
        **options: Any,
    ) -> list[Output]:
        spec = specs[to]
        out = tmp_path / f"out{next(counter)}"
        out.mkdir()
        request = ConversionRequest(
            inputs=(InputFile(path, path.name, "pdf"),),
            output_dir=out,
            source="pdf",
            target=to,
            options=spec.options.validate(options),
            limits=limits or Limits(),
            warnings=[] if warnings is None else warnings,
        )
        return list(spec.load()(request))

    return go
