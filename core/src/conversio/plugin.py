"""Everything a plugin author imports, from one stable module.

    from conversio.plugin import ConverterRegistrar, ConverterSpec, Option, OptionsSchema, hookimpl

A plugin's ``plugin.py`` is imported whenever conversio starts, so this module
imports only the light declaration modules (no engine, no store backend, no
router). The names here keep their meaning across releases; the modules they
come from are the core's own business.
"""

from __future__ import annotations

from conversio.converters import (
    Cardinality,
    ConversionRequest,
    ConverterSpec,
    InputFile,
    Output,
    StepCall,
    with_extension,
)
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    InvalidOption,
    InvalidPassword,
    MissingDependency,
    NoTextLayer,
    StoreUnavailable,
    UnsupportedEncryption,
    UnsupportedFormat,
)
from conversio.events import Event, EventKind
from conversio.formats import ANY, Format, Kind, Magic
from conversio.hookspecs import hookimpl
from conversio.limits import Limits
from conversio.options import Option, OptionsSchema, OptionType
from conversio.registry import ConverterRegistrar, FormatRegistrar, StoreRegistrar
from conversio.stores.base import Artifact, ArtifactStore

__all__ = [
    "ANY",
    "Artifact",
    "ArtifactStore",
    "Cardinality",
    "ConversioError",
    "ConversionFailed",
    "ConversionRequest",
    "ConverterRegistrar",
    "ConverterSpec",
    "CorruptFile",
    "EmptyFile",
    "Event",
    "EventKind",
    "FileTooLarge",
    "Format",
    "FormatRegistrar",
    "InputFile",
    "InvalidOption",
    "InvalidPassword",
    "Kind",
    "Limits",
    "Magic",
    "MissingDependency",
    "NoTextLayer",
    "Option",
    "OptionType",
    "OptionsSchema",
    "Output",
    "StepCall",
    "StoreRegistrar",
    "StoreUnavailable",
    "UnsupportedEncryption",
    "UnsupportedFormat",
    "hookimpl",
    "with_extension",
]
