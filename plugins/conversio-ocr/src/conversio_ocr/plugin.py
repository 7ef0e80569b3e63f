"""Hook implementations of conversio-ocr, and nothing else (no engine is imported here)."""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_ocr.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
