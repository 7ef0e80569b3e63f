"""Hook implementations of conversio-pandoc, and nothing else (no engine is imported here)."""

from __future__ import annotations

from pathlib import Path

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar, FormatRegistrar
from conversio_pandoc.formats import DECLARED, sniff
from conversio_pandoc.specs import all_specs


@hookimpl
def register_formats(formats: FormatRegistrar) -> None:
    for fmt in DECLARED:
        formats.add(fmt)


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)


@hookimpl
def sniff_format(head: bytes, path: Path, name: str) -> str | None:
    return sniff(head, path, name)
