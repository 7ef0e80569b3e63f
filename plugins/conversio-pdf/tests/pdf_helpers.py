"""Helpers for conversio-pdf's tests: run a converter as the engine would."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conversio_pdf.specs import all_specs

from conversio.converters import ConversionRequest, ConverterSpec, InputFile, Output
from conversio.limits import Limits

SPECS: dict[str, ConverterSpec] = {spec.id: spec for spec in all_specs()}


def run_converter(
    converter_id: str,
    paths: Path | Sequence[Path],
    out_dir: Path,
    limits: Limits | None = None,
    progress: list[tuple[float, str]] | None = None,
    warnings: list[str] | None = None,
    **options: Any,
) -> list[Output]:
    """Validate ``options`` with the spec's schema and call its function, as the engine does
    (what it warns about is appended to ``warnings``)."""
    spec = SPECS[converter_id]
    paths = [paths] if isinstance(paths, Path) else list(paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    request = ConversionRequest(
        inputs=tuple(InputFile(p, p.name, spec.source) for p in paths),
        output_dir=out_dir,
        source=spec.source,
        target=spec.target,
        options=spec.options.validate(options),
        limits=limits or Limits(),
        on_progress=None if progress is None else lambda f, m: progress.append((f, m)),
        warnings=[] if warnings is None else warnings,
    )
    return list(spec.load()(request))
