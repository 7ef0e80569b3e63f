"""Hook implementations of conversio-media, and nothing else.

Declares the ffmpeg converters by name; neither ffmpeg nor ffmpeg-python is touched
until a conversion runs.
"""

from __future__ import annotations

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_media.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
