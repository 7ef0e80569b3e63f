"""The converter functions: transcode, animated GIF, thumbnail and frames.

Each probes its input (restricted ffprobe), builds the ffmpeg command with
ffmpeg-python and runs it with :func:`~conversio_media.runner.run_ffmpeg`. ffmpeg
writes to a hidden ``.part`` name in the output folder, renamed only once ffmpeg
succeeded: a stopped or failed run leaves nothing that could be stored.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ffmpeg  # type: ignore[import-untyped]

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import CorruptFile, FileTooLarge, InvalidOption, UnsupportedFormat
from conversio_media.arguments import audio_encoder, scale_args, video_encoder, window
from conversio_media.catalogue import AUDIO, FORMATS
from conversio_media.matroska import matroska_info
from conversio_media.probe import MediaInfo, probe
from conversio_media.runner import check_complete, command, run_ffmpeg
from conversio_media.sandbox import input_options, tool, url
from conversio_media.wav import wav_info

#: mp4-family outputs get their index first, so players start before the download ends.
_FASTSTART = {"mp4", "mov", "ipod"}
_EVEN_CODECS = {"h264", "hevc", "av1", "vp9", "vp8", "mpeg4", "mjpeg"}


def transcode(request: ConversionRequest) -> list[Output]:
    """Any audio or video format to another (the audio track only, for an audio target)."""
    item = request.input
    target = FORMATS[request.target]
    info = _probe(request)
    options = request.options
    span = window(options, info)
    source = _input(request, **span.input_args())
    streams: list[Any] = []
    args: dict[str, Any] = {"f": target.muxer, "max_muxing_queue_size": 1024, **span.output_args()}
    if target.kind == AUDIO:
        if not info.audio:
            raise UnsupportedFormat(
                f"{item.name} has no audio stream to convert to {target.name}", file=item.name
            )
        streams.append(source["a:0"])
        args.update(audio_encoder(options.get("audio_codec") or target.audio_codecs[0], options, info))
    else:
        if info.video is None:
            raise UnsupportedFormat(
                f"{item.name} has no video stream; convert it to an audio format instead", file=item.name
            )
        codec = options.get("video_codec") or target.video_codecs[0]
        video = source["V:0"]
        if options.get("fps"):
            video = video.filter("fps", fps=options["fps"])
        scale = scale_args(options, info, even=codec in _EVEN_CODECS)
        if scale is not None:
            video = video.filter("scale", **scale)
        streams.append(video)
        args.update(video_encoder(codec, options))
        if info.audio and not options.get("strip_audio") and target.audio_codecs:
            streams.append(source["a:0"])
            audio_codec = options.get("audio_codec") or target.audio_codecs[0]
            args.update(audio_encoder(audio_codec, options, info))
    if target.muxer in _FASTSTART:
        args["movflags"] = "+faststart"
    out = request.output(with_extension(item.name, target.name))
    expected = span.expected(info)
    with _staged(out.path) as part:
        written = _run(request, ffmpeg.output(*streams, url(part), **args), expected)
        check_complete(written, expected, _what(request))
    return [out]


def to_gif(request: ConversionRequest) -> list[Output]:
    """An animated GIF with a palette computed for the clip (``fps`` and ``width`` options)."""
    item = request.input
    info = _probe(request, need_video=True)
    assert info.video is not None
    options = request.options
    span = window(options, info)
    width = min(int(options["width"]), info.video.width)
    source = _input(request, **span.input_args())
    frames = source["V:0"].filter("fps", fps=options["fps"]).filter("scale", w=width, h=-1, flags="lanczos")
    split = frames.split()
    palette = split[0].filter("palettegen", stats_mode="diff")
    gif = ffmpeg.filter(
        [split[1], palette], "paletteuse", dither="bayer", bayer_scale=5, diff_mode="rectangle"
    )
    out = request.output(with_extension(item.name, "gif"))
    with _staged(out.path) as part:
        stream = ffmpeg.output(gif, url(part), f="gif", loop=0, **span.output_args())
        expected = span.expected(info)
        check_complete(_run(request, stream, expected), expected, _what(request))
    return [out]


def thumbnail(request: ConversionRequest) -> list[Output]:
    """One frame at ``at`` seconds (default: 10 % into the video) as a JPEG or PNG."""
    item = request.input
    info = _probe(request, need_video=True)
    at = request.options.get("at")
    if at is None:
        at = info.duration * 0.1 if info.duration else 0.0
    elif info.duration is not None and at >= info.duration:
        raise InvalidOption(
            f"at={at:g} is past the end of the video ({info.duration:.2f} s)",
            option="at",
            input_duration=info.duration,
        )
    out = request.output(with_extension(item.name, request.target))
    with _staged(out.path) as part:
        _run(
            request,
            _still_images(request, info, part, {"ss": f"{at:.3f}"}, {"frames:v": 1, "update": 1}),
            None,
        )
        if not part.is_file() or part.stat().st_size == 0:
            # past the last frame (containers round durations up): the last frame instead,
            # each frame of the last second overwriting the one before
            _run(request, _still_images(request, info, part, {"sseof": "-1"}, {"update": 1}), None)
        if not part.is_file() or part.stat().st_size == 0:
            raise CorruptFile(f"no frame of {item.name} could be decoded", file=item.name)
    return [out]


def frames(request: ConversionRequest) -> list[Output]:
    """One image every ``every`` seconds (default 1) or every ``every_frames`` frames."""
    item = request.input
    info = _probe(request, need_video=True)
    assert info.video is not None
    options = request.options
    every, step = options.get("every"), options.get("every_frames")
    if every is not None and step is not None:
        raise InvalidOption("give every or every_frames, not both", option="every")
    span = window(options, info)
    expected = span.expected(info)
    limit = request.limits.max_frames
    if step is None:
        every = every or 1.0
        count = math.ceil(expected / every) if expected else None
    else:
        fps = info.video.fps or 25.0
        count = math.ceil(expected * fps / step) if expected else None
    if count is not None and count > limit:
        raise FileTooLarge(
            f"{item.name} would give about {count} frames, more than the limit of {limit}",
            limit="max_frames",
            maximum=limit,
        )
    stem = with_extension(item.name, "").rstrip(".")
    folder = request.output_dir / ".frames.part"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        selector = ("framestep", {"step": step}) if step is not None else ("fps", {"fps": f"1/{every}"})
        # image2 reads "%" in the whole path as a pattern: the folder's own are doubled
        pattern = Path(str(folder).replace("%", "%%")) / f"frame%06d.{request.target}"
        stream = _still_images(
            request,
            info,
            pattern,
            span.input_args(),
            {"frames:v": limit + 1, "fps_mode": "vfr", **span.output_args()},
            selector,
        )
        _run(request, stream, expected)
        made = sorted(folder.iterdir())
        if len(made) > limit:
            raise FileTooLarge(
                f"{item.name} gives more than {limit} frames", limit="max_frames", maximum=limit
            )
        if not made:
            raise CorruptFile(f"no frame of {item.name} could be decoded", file=item.name)
        outputs = []
        for number, path in enumerate(made, 1):
            out = request.output(f"{stem}-frame{number:06d}.{request.target}")
            path.replace(out.path)
            outputs.append(out)
        return outputs
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _still_images(
    request: ConversionRequest,
    info: MediaInfo,
    path: Path,
    input_args: dict[str, Any],
    output_args: dict[str, Any],
    selector: tuple[str, dict[str, Any]] | None = None,
) -> Any:
    """The ffmpeg-python stream writing JPEG or PNG images of the first video stream to ``path``."""
    source = _input(request, **input_args)
    video = source["V:0"]
    if selector is not None:
        video = video.filter(selector[0], **selector[1])
    jpeg = request.target == "jpg"
    scale = scale_args(request.options, info, even=False)
    if scale is not None:
        video = video.filter("scale", **scale)
    args: dict[str, Any] = {"f": "image2", **output_args}
    if jpeg:
        quality = int(request.options.get("quality", 85))
        args.update({"c:v": "mjpeg", "pix_fmt": "yuvj420p", "q:v": round(2 + (100 - quality) * 29 / 99)})
    else:
        args.update({"c:v": "png", "pix_fmt": "rgb24"})
    return ffmpeg.output(video, url(path), **args)


#: The formats whose header a conversion may read in Python instead of starting ffprobe.
HEADER_READERS: dict[str, Callable[[Path], MediaInfo | None]] = {
    "wav": wav_info,
    "mkv": matroska_info,
    "webm": matroska_info,
}


def _probe(request: ConversionRequest, *, need_video: bool = False) -> MediaInfo:
    """What the input holds; an empty file is ``CORRUPT_FILE``, frames over ``max_pixels``
    ``FILE_TOO_LARGE`` (a tiny file can declare huge frames). A plain PCM WAV and a plain
    Matroska or WebM file are read from their headers (:data:`HEADER_READERS`), anything
    else by ffprobe."""
    item = request.input
    tool("ffmpeg")
    if item.path.stat().st_size == 0:
        raise CorruptFile(f"{item.name} is empty", file=item.name)
    reader = HEADER_READERS.get(item.format)
    info = reader(item.path) if reader is not None else None
    if info is None:
        timeout = min(request.limits.step_timeout("media"), 60.0)
        info = probe(item.path, item.format, item.name, timeout=timeout)
    if need_video and info.video is None:
        raise UnsupportedFormat(f"{item.name} has no video stream", file=item.name)
    limit = request.limits.max_pixels
    if info.video is not None and info.video.width * info.video.height > limit:
        raise FileTooLarge(
            f"{item.name} has {info.video.width}x{info.video.height} frames, more than the limit of "
            f"{limit} pixels",
            limit="max_pixels",
            maximum=limit,
        )
    return info


def _input(request: ConversionRequest, **args: Any) -> Any:
    """The ffmpeg input of the request's file, read within the sandbox's bounds."""
    item = request.input
    options = input_options(item.format, item.name, request.limits.max_pixels, item.path)
    return ffmpeg.input(url(item.path), **options, **args)


def _run(request: ConversionRequest, stream: Any, expected: float | None) -> float:
    """Run the ffmpeg command of ``stream``; the seconds of media written."""
    cmd = command(ffmpeg.compile(stream, cmd=tool("ffmpeg"), overwrite_output=True))
    request.progress(0.0, "ffmpeg")
    return run_ffmpeg(
        cmd,
        expected=expected,
        progress=request.progress,
        timeout=request.limits.step_timeout("media", expected),
        what=_what(request),
        max_memory=request.limits.max_engine_memory,
    )


def _what(request: ConversionRequest) -> str:
    return f"{request.input.name} ({request.source} → {request.target})"


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A hidden ``.part`` name beside ``path``, renamed to it when the block succeeds."""
    part = path.with_name(f".{path.name}.part")
    try:
        yield part
        if not part.is_file():
            raise CorruptFile(f"ffmpeg wrote no {path.suffix.lstrip('.')} output")
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
