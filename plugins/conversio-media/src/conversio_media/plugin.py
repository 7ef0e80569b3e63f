"""Hook implementations of conversio-media, and nothing else.

Declares the ffmpeg converters by name; neither ffmpeg nor ffmpeg-python is touched
until a conversion runs (or a file's format is to be confirmed).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar
from conversio_media.specs import all_specs


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)


@hookimpl
def confirm_format(path: Path, format: str) -> bool | None:
    """Whether ffprobe reads ``path`` as ``format``, for the audio and video formats this plugin
    reads (None without ffprobe: it cannot judge)."""
    from conversio_media.confirm import confirm, owns

    if not owns(format):
        return None
    ffprobe = shutil.which("ffprobe")
    return None if ffprobe is None else confirm(path, format, ffprobe)
