"""Hook implementations of conversio-pdf, and nothing else.

Imported whenever conversio starts: it declares converters by name and imports
no engine (pypdfium2, pikepdf and img2pdf load on first use).
"""

from __future__ import annotations

from pathlib import Path

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_pdf.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)


@hookimpl
def confirm_format(path: Path, format: str) -> bool | None:
    """Whether the file at ``path`` really is a PDF (``None`` for other formats)."""
    from conversio_pdf.confirm import confirm  # headers only; pikepdf loads for a late header

    return confirm(path, format)
