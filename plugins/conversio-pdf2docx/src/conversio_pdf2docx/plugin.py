"""Hook implementations of conversio-pdf2docx, and nothing else (no engine is imported here)."""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_pdf2docx.specs import docx_spec, xlsx_spec


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    converters.add(docx_spec())
    converters.add(xlsx_spec())
