"""Hook implementations of conversio-pdf, and nothing else.

Imported whenever conversio starts: it declares converters by name and imports
no engine (pypdfium2, pikepdf and img2pdf load on first use).
"""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_pdf.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
