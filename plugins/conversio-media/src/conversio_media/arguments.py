"""Options → ffmpeg settings: trim, scaling and the encoder arguments of each codec.

Pure functions over validated options and a :class:`~conversio_media.probe.MediaInfo`;
every combination that cannot work is ``INVALID_OPTION`` before ffmpeg starts.
"""

from __future__ import annotations

from typing import Any

import attrs

from conversio.errors import InvalidOption
from conversio_media.catalogue import (
    CRF_DEFAULTS,
    ENCODERS,
    LOSSLESS_AUDIO,
    MAX_CHANNELS,
    QSCALE_DEFAULTS,
    SAMPLE_RATES,
    SVT_AV1_PRESET,
    VPX_SPEED,
)
from conversio_media.probe import MediaInfo

#: Default audio quality per codec: a VBR quality (``q:a``) or a bitrate.
_AUDIO_DEFAULTS: dict[str, dict[str, str]] = {
    "mp3": {"q:a": "2"},
    "vorbis": {"q:a": "5"},
    "aac": {"b:a": "192k"},
    "opus": {"b:a": "128k"},
}
#: Pixel formats: 4:2:0 everywhere a player expects it.
_PIXEL_FORMATS = {"prores": "yuv422p10le", "mjpeg": "yuvj420p", "gif": "pal8"}


@attrs.frozen
class Window:
    """The part of the input to convert: ``start`` and ``duration`` (None: to the end)."""

    start: float = 0.0
    duration: float | None = None

    def expected(self, info: MediaInfo) -> float | None:
        """Seconds of output to expect (for progress), when the input's duration is known."""
        if info.duration is None:
            return self.duration
        left = max(info.duration - self.start, 0.0)
        return min(left, self.duration) if self.duration is not None else left

    def input_args(self) -> dict[str, Any]:
        return {"ss": f"{self.start:.3f}"} if self.start else {}

    def output_args(self) -> dict[str, Any]:
        return {"t": f"{self.duration:.3f}"} if self.duration is not None else {}


def window(options: dict[str, Any], info: MediaInfo) -> Window:
    """The trim window; a start at or past the end is ``INVALID_OPTION``."""
    start = float(options.get("start") or 0.0)
    duration = options.get("duration")
    if info.duration is not None and start and start >= info.duration:
        raise InvalidOption(
            f"start={start:g} is past the end of the input ({info.duration:.2f} s)",
            option="start",
            input_duration=info.duration,
        )
    return Window(start, None if duration is None else float(duration))


def scale_args(options: dict[str, Any], info: MediaInfo, *, even: bool) -> dict[str, Any] | None:
    """``scale`` filter arguments for width/height/keep_aspect, or None to keep the size.

    With ``even`` (4:2:0 codecs), sizes are rounded to even numbers, odd inputs included.
    """
    width, height = options.get("width"), options.get("height")
    keep = options.get("keep_aspect", True)
    step = 2 if even else 1
    if width is None and height is None:
        if even and info.video is not None and (info.video.width % 2 or info.video.height % 2):
            return {"w": "trunc(iw/2)*2", "h": "trunc(ih/2)*2"}
        return None
    if width is not None and height is not None:
        if keep:
            return {
                "w": width,
                "h": height,
                "force_original_aspect_ratio": "decrease",
                "force_divisible_by": step,
            }
        return {"w": width - width % step, "h": height - height % step}
    if width is not None:
        return {"w": width - width % step, "h": -step}
    return {"w": -step, "h": height - height % step}  # type: ignore[operator]


def video_encoder(codec: str, options: dict[str, Any]) -> dict[str, Any]:
    """Encoder, quality and speed arguments for ``codec``."""
    crf, bitrate, preset = options.get("crf"), options.get("video_bitrate"), options.get("preset", "fast")
    if crf is not None and bitrate is not None:
        raise InvalidOption(
            "give crf or video_bitrate, not both", option="crf", options=["crf", "video_bitrate"]
        )
    if crf is not None and codec not in CRF_DEFAULTS:
        raise InvalidOption(
            f"crf does not apply to {codec}; use video_bitrate",
            option="crf",
            codec=codec,
            crf_codecs=sorted(CRF_DEFAULTS),
        )
    if crf is not None and codec in ("h264", "hevc") and crf > 51:
        raise InvalidOption(f"crf={crf} is out of range for {codec} (0-51)", option="crf", codec=codec)
    args: dict[str, Any] = {"c:v": ENCODERS[codec]}
    if codec in _PIXEL_FORMATS:
        args["pix_fmt"] = _PIXEL_FORMATS[codec]
    elif codec != "prores":
        args["pix_fmt"] = "yuv420p"
    if bitrate is not None:
        args["b:v"] = f"{bitrate}k"
    elif codec in CRF_DEFAULTS:
        args["crf"] = crf if crf is not None else CRF_DEFAULTS[codec]
        if codec == "vp9":
            args["b:v"] = "0"  # constant quality
        elif codec == "vp8":
            args["b:v"] = "4M"  # VP8's crf is a floor under a bitrate cap
    elif codec in QSCALE_DEFAULTS:
        args["q:v"] = QSCALE_DEFAULTS[codec]
    if codec in ("h264", "hevc"):
        args["preset"] = preset
    elif codec in ("vp8", "vp9"):
        deadline, cpu_used = VPX_SPEED[preset]
        args["deadline"] = deadline
        args["cpu-used"] = cpu_used
        if codec == "vp9":
            args["row-mt"] = 1
    elif codec == "av1":
        args["preset"] = SVT_AV1_PRESET[preset]
    elif codec == "prores":
        args["profile:v"] = 2  # ProRes 422
    if codec == "hevc":
        args["tag:v"] = "hvc1"  # what Apple players want
    return args


def audio_encoder(codec: str, options: dict[str, Any], info: MediaInfo) -> dict[str, Any]:
    """Encoder, quality, sample rate and channel arguments for ``codec``."""
    bitrate, rate, channels = (
        options.get("audio_bitrate"),
        options.get("sample_rate"),
        options.get("channels"),
    )
    if bitrate is not None and codec in LOSSLESS_AUDIO:
        raise InvalidOption(f"audio_bitrate does not apply to {codec} (lossless)", option="audio_bitrate")
    allowed = SAMPLE_RATES.get(codec)
    if rate is not None and allowed is not None and rate not in allowed:
        raise InvalidOption(
            f"{codec} does not support sample_rate={rate}; use one of {', '.join(map(str, allowed))}",
            option="sample_rate",
            choices=list(allowed),
        )
    top = MAX_CHANNELS.get(codec, 8)
    if channels is not None and channels > top:
        raise InvalidOption(f"{codec} holds at most {top} channels", option="channels", maximum=top)
    args: dict[str, Any] = {"c:a": ENCODERS[codec]}
    if bitrate is not None:
        args["b:a"] = f"{bitrate}k"
    else:
        args.update(_AUDIO_DEFAULTS.get(codec, {}))
    if rate is not None:
        args["ar"] = rate
    elif allowed is not None and info.audio_rate is not None and info.audio_rate not in allowed:
        args["ar"] = min(allowed, key=lambda r: (abs(r - info.audio_rate), -r))  # type: ignore[operator]
    if channels is not None:
        args["ac"] = channels
    elif info.audio_channels is not None and info.audio_channels > top:
        args["ac"] = top
    return args
