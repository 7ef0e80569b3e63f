"""conversio: convert files through a graph of pluggable converters.

    import conversio
    conversio.convert("photo.heic", to="jpg", options={"quality": 85}).save("out/")
    print(conversio.route("png", "zip", via=["webp"]).explain())

Names are imported on first use, so ``import conversio`` (and the CLI) start fast.
Plugin authors import :mod:`conversio.plugin` instead.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The public names, by the module that defines them: the one list (``__all__`` and the lazy
#: look-up are made from it; a test checks that the imports for type checkers below match it).
_EXPORTS: dict[str, tuple[str, ...]] = {
    "conversio.api": ("Conversio", "Conversion", "Result", "convert", "default", "route"),
    "conversio.converters": ("Cardinality", "ConversionRequest", "ConverterSpec", "InputFile", "Output"),
    "conversio.engine.planning": ("Plan",),
    "conversio.errors": ("ConversioError",),
    "conversio.events": ("Event", "EventKind"),
    "conversio.formats": ("ANY", "Format", "Kind", "Magic"),
    "conversio.hookspecs": ("hookimpl",),
    "conversio.ingest": ("Arriving",),
    "conversio.limits": ("Limits",),
    "conversio.options": ("Option", "OptionsSchema"),
    "conversio.routing": ("Route",),
    "conversio.stores.base": ("Artifact", "ArtifactStore"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_MODULE_OF)

if TYPE_CHECKING:
    from conversio.api import Conversio as Conversio
    from conversio.api import Conversion as Conversion
    from conversio.api import Result as Result
    from conversio.api import convert as convert
    from conversio.api import default as default
    from conversio.api import route as route
    from conversio.converters import Cardinality as Cardinality
    from conversio.converters import ConversionRequest as ConversionRequest
    from conversio.converters import ConverterSpec as ConverterSpec
    from conversio.converters import InputFile as InputFile
    from conversio.converters import Output as Output
    from conversio.engine.planning import Plan as Plan
    from conversio.errors import ConversioError as ConversioError
    from conversio.events import Event as Event
    from conversio.events import EventKind as EventKind
    from conversio.formats import ANY as ANY
    from conversio.formats import Format as Format
    from conversio.formats import Kind as Kind
    from conversio.formats import Magic as Magic
    from conversio.hookspecs import hookimpl as hookimpl
    from conversio.ingest import Arriving as Arriving
    from conversio.limits import Limits as Limits
    from conversio.options import Option as Option
    from conversio.options import OptionsSchema as OptionsSchema
    from conversio.routing import Route as Route
    from conversio.stores.base import Artifact as Artifact
    from conversio.stores.base import ArtifactStore as ArtifactStore


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'conversio' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
