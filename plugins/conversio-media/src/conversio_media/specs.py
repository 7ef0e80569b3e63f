"""Every converter of conversio-media, as ConverterSpecs (no engine imported).

Costs keep ffmpeg off image-only routes: conversio-image's edges cost 1 to 1.5, a
GIF edge here 2.5, so png → gif or gif → png never goes through a video, while
mp4 → gif goes straight (2.5) rather than through a thumbnail (2 + 1.5).
Frames (1 → n) cost more than a thumbnail (1 → 1) to the same image format, so
``--to jpg`` gives a thumbnail; ``--prefer media.ffmpeg.frames`` gives frames.
GIF → video converters are terminal: they only end a route, so neither png → gif →
mp4 → mp3 nor gif → mp4 → mp3 is ever proposed (such a video has no sound).
"""

from __future__ import annotations

from conversio.converters import Cardinality, ConverterSpec
from conversio_media.catalogue import (
    AUDIO_FORMATS,
    FORMATS,
    IMAGE_TARGETS,
    INSTALL_HINT,
    VIDEO_CONTAINERS,
)
from conversio_media.schemas import (
    audio_schema,
    frames_schema,
    gif_schema,
    thumbnail_schema,
    video_schema,
)

ENGINE = "media.ffmpeg"
FRAMES_ENGINE = "media.ffmpeg.frames"
COST = 2.0
GIF_COST = 2.5
FRAMES_COST = 3.0


def video_specs() -> list[ConverterSpec]:
    """Between video containers (and from an animated GIF)."""
    return [
        ConverterSpec(
            id=f"{ENGINE}:{source}->{target}",
            source=source,
            target=target,
            run="conversio_media.convert:transcode",
            cost=GIF_COST if source == "gif" else COST,
            lossy=True,
            terminal=source == "gif",  # a video from a GIF has no sound: never routed on (gif → mp4 → mp3)
            options=video_schema(target),
            install_hint=INSTALL_HINT,
            description=f"{source} to {target} ({FORMATS[target].video_codecs[0]}"
            + (f"/{FORMATS[target].audio_codecs[0]})" if source != "gif" else ")"),
        )
        for source in (*VIDEO_CONTAINERS, "gif")
        for target in VIDEO_CONTAINERS
        if source != target
    ]


def gif_specs() -> list[ConverterSpec]:
    return [
        ConverterSpec(
            id=f"{ENGINE}:{source}->gif",
            source=source,
            target="gif",
            run="conversio_media.convert:to_gif",
            cost=GIF_COST,
            lossy=True,
            options=gif_schema(),
            install_hint=INSTALL_HINT,
            description=f"{source} to an animated GIF (palette made for the clip)",
        )
        for source in VIDEO_CONTAINERS
    ]


def audio_specs() -> list[ConverterSpec]:
    """Audio to audio, and the audio track of a video."""
    return [
        ConverterSpec(
            id=f"{ENGINE}:{source}->{target}",
            source=source,
            target=target,
            run="conversio_media.convert:transcode",
            cost=COST,
            lossy=FORMATS[target].lossy,
            options=audio_schema(target),
            install_hint=INSTALL_HINT,
            description=f"{'the audio of ' if FORMATS[source].kind == 'video' else ''}{source} to {target} "
            f"({FORMATS[target].audio_codecs[0]})",
        )
        for source in (*VIDEO_CONTAINERS, *AUDIO_FORMATS)
        for target in AUDIO_FORMATS
        if source != target
    ]


def image_specs() -> list[ConverterSpec]:
    """A thumbnail (one frame at a time offset) and frames (one image every N seconds or frames)."""
    specs = []
    for source in VIDEO_CONTAINERS:
        for target in IMAGE_TARGETS:
            specs.append(
                ConverterSpec(
                    id=f"{ENGINE}:{source}->{target}",
                    source=source,
                    target=target,
                    run="conversio_media.convert:thumbnail",
                    cost=COST,
                    lossy=True,
                    options=thumbnail_schema(target),
                    install_hint=INSTALL_HINT,
                    description=f"a {target} thumbnail of a {source} video at a time offset",
                )
            )
            specs.append(
                ConverterSpec(
                    id=f"{FRAMES_ENGINE}:{source}->{target}",
                    source=source,
                    target=target,
                    run="conversio_media.convert:frames",
                    cardinality=Cardinality.ONE_TO_MANY,
                    cost=FRAMES_COST,
                    lossy=True,
                    options=frames_schema(target),
                    install_hint=INSTALL_HINT,
                    description=f"{source} frames as {target} images, every N seconds or N frames",
                )
            )
    return specs


def transcode_specs() -> list[ConverterSpec]:
    """The operation ``transcode``: re-encode in the same format (resize, trim, new codec, ...)."""
    return [
        ConverterSpec(
            id=f"{ENGINE}:transcode({fmt})",
            source=fmt,
            target=fmt,
            run="conversio_media.convert:transcode",
            operation="transcode",
            cost=COST,
            lossy=FORMATS[fmt].lossy,
            options=video_schema(fmt) if fmt in VIDEO_CONTAINERS else audio_schema(fmt),
            install_hint=INSTALL_HINT,
            description=f"{fmt} re-encoded as {fmt} with new settings (size, trim, codec, quality)",
        )
        for fmt in (*VIDEO_CONTAINERS, *AUDIO_FORMATS)
    ]


def all_specs() -> list[ConverterSpec]:
    return [*video_specs(), *gif_specs(), *audio_specs(), *image_specs(), *transcode_specs()]
