"""Hook implementations of conversio-image, and nothing else.

Imported whenever conversio starts: it declares converters by name and
imports no engine (Pillow, pillow-heif and resvg load on first use).
"""

from __future__ import annotations

from pathlib import Path

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_image.catalogue import FORMATS
from conversio_image.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)


@hookimpl
def confirm_format(path: Path, format: str) -> bool | None:
    """Whether ``path`` reads as ``format``, for the image formats this plugin reads."""
    if format not in FORMATS:
        return None
    from conversio_image.confirm import confirm  # Pillow loads only when a file is checked

    return confirm(path, format)
