"""Hook implementations of conversio-image, and nothing else.

Imported whenever conversio starts: it declares converters by name and
imports no engine (Pillow, pillow-heif and resvg load on first use).
"""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_image.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
