"""conversio: convert files through a graph of pluggable converters.

    import conversio
    conversio.convert("photo.heic", to="jpg", options={"quality": 85}).save("out/")
    print(conversio.route("png", "zip", via=["webp"]).explain())
"""

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

__all__ = [
    "ANY",
    "Artifact",
    "ArtifactStore",
    "Cardinality",
    "Conversio",
    "Conversion",
    "ConversionRequest",
    "ConversioError",
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
