"""The options of each kind of converter (no engine imported)."""

from __future__ import annotations

from conversio.options import Option, OptionsSchema
from conversio_media.catalogue import DEFAULT_PRESET, FORMATS, LOSSLESS_AUDIO, PRESETS

START = Option("start", "float", min=0.0, help="start this many seconds into the input")
DURATION = Option("duration", "float", min=0.01, help="keep at most this many seconds")
WIDTH = Option("width", "int", min=16, max=8192, help="width in pixels (height follows, keeping the aspect)")
HEIGHT = Option(
    "height", "int", min=16, max=8192, help="height in pixels (width follows, keeping the aspect)"
)
KEEP_ASPECT = Option(
    "keep_aspect",
    "bool",
    default=True,
    help="with both width and height: fit inside that box (false: stretch to it)",
)
FPS = Option("fps", "float", min=1.0, max=240.0, help="frames per second (default: the input's)")
CRF = Option("crf", "int", min=0, max=63, help="constant quality, lower is better (h264 23, vp9 32, ...)")
VIDEO_BITRATE = Option(
    "video_bitrate", "int", min=16, max=200_000, help="video bitrate in kbit/s (not with crf)"
)
PRESET = Option("preset", "str", default=DEFAULT_PRESET, choices=PRESETS, help="encoding speed")
STRIP_AUDIO = Option("strip_audio", "bool", default=False, help="leave the audio out")
AUDIO_BITRATE = Option("audio_bitrate", "int", min=8, max=512, help="audio bitrate in kbit/s")
SAMPLE_RATE = Option(
    "sample_rate",
    "int",
    choices=(8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000),
    help="samples per second (default: the input's, where the codec allows it)",
)
CHANNELS = Option("channels", "int", min=1, max=8, help="1 for mono, 2 for stereo (default: the input's)")
QUALITY = Option("quality", "int", default=85, min=1, max=100, help="JPEG quality")


def _codec(name: str, codecs: tuple[str, ...], what: str) -> Option:
    return Option(name, "str", default=codecs[0], choices=codecs, help=f"{what} codec")


def audio_options(target: str) -> list[Option]:
    codecs = FORMATS[target].audio_codecs
    options = [_codec("audio_codec", codecs, "audio")] if len(codecs) > 1 else []
    if not set(codecs) <= LOSSLESS_AUDIO:
        options.append(AUDIO_BITRATE)
    return [*options, SAMPLE_RATE, CHANNELS]


def video_schema(target: str) -> OptionsSchema:
    fmt = FORMATS[target]
    return OptionsSchema.of(
        _codec("video_codec", fmt.video_codecs, "video"),
        CRF,
        VIDEO_BITRATE,
        PRESET,
        WIDTH,
        HEIGHT,
        KEEP_ASPECT,
        FPS,
        START,
        DURATION,
        STRIP_AUDIO,
        _codec("audio_codec", fmt.audio_codecs, "audio"),
        AUDIO_BITRATE,
        SAMPLE_RATE,
        CHANNELS,
    )


def audio_schema(target: str) -> OptionsSchema:
    return OptionsSchema.of(*audio_options(target), START, DURATION)


def gif_schema() -> OptionsSchema:
    return OptionsSchema.of(
        Option("fps", "float", default=10.0, min=1.0, max=50.0, help="frames per second of the GIF"),
        Option("width", "int", default=480, min=16, max=2048, help="width in pixels (height follows)"),
        START,
        DURATION,
    )


def thumbnail_schema(target: str) -> OptionsSchema:
    options = [
        Option("at", "float", min=0.0, help="time of the frame in seconds (default: 10 % into the video)"),
        WIDTH,
        HEIGHT,
        KEEP_ASPECT,
    ]
    if target == "jpg":
        options.append(QUALITY)
    return OptionsSchema.of(*options)


def frames_schema(target: str) -> OptionsSchema:
    options = [
        Option("every", "float", min=0.01, help="one frame every this many seconds (default 1)"),
        Option("every_frames", "int", min=1, help="one frame every this many frames (not with every)"),
        WIDTH,
        HEIGHT,
        KEEP_ASPECT,
        START,
        DURATION,
    ]
    if target == "jpg":
        options.append(QUALITY)
    return OptionsSchema.of(*options)
