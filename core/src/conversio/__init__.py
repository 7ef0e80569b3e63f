"""conversio: convert files through a graph of pluggable converters.

    import conversio
    conversio.convert("photo.heic", to="jpg", options={"quality": 85}).save("out/")
    print(conversio.route("png", "zip", via=["webp"]).explain())

Names are imported on first use, so ``import conversio`` (and the CLI) start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Conversio": "conversio.api",
    "Conversion": "conversio.api",
    "Result": "conversio.api",
    "convert": "conversio.api",
    "default": "conversio.api",
    "route": "conversio.api",
    "Cardinality": "conversio.converters",
    "ConversionRequest": "conversio.converters",
    "ConverterSpec": "conversio.converters",
    "InputFile": "conversio.converters",
    "Output": "conversio.converters",
    "ConversioError": "conversio.errors",
    "Event": "conversio.events",
    "EventKind": "conversio.events",
    "ANY": "conversio.formats",
    "Format": "conversio.formats",
    "Kind": "conversio.formats",
    "Magic": "conversio.formats",
    "hookimpl": "conversio.hookspecs",
    "Limits": "conversio.limits",
    "Option": "conversio.options",
    "OptionsSchema": "conversio.options",
    "Route": "conversio.routing",
    "Artifact": "conversio.stores.base",
    "ArtifactStore": "conversio.stores.base",
}

__all__ = [
    "ANY",
    "Artifact",
    "ArtifactStore",
    "Cardinality",
    "Conversio",
    "ConversioError",
    "Conversion",
    "ConversionRequest",
    "ConverterSpec",
    "Event",
    "EventKind",
    "Format",
    "InputFile",
    "Kind",
    "Limits",
    "Magic",
    "Option",
    "OptionsSchema",
    "Output",
    "Result",
    "Route",
    "convert",
    "default",
    "hookimpl",
    "route",
]

if TYPE_CHECKING:
    from conversio.api import Conversio, Conversion, Result, convert, default, route
    from conversio.converters import Cardinality, ConversionRequest, ConverterSpec, InputFile, Output
    from conversio.errors import ConversioError
    from conversio.events import Event, EventKind
    from conversio.formats import ANY, Format, Kind, Magic
    from conversio.hookspecs import hookimpl
    from conversio.limits import Limits
    from conversio.options import Option, OptionsSchema
    from conversio.routing import Route
    from conversio.stores.base import Artifact, ArtifactStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conversio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
