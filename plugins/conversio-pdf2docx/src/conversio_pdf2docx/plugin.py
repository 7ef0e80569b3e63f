"""Hook implementations of conversio-pdf2docx, and nothing else (no engine is imported here)."""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_pdf2docx.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
