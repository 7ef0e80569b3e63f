"""What a media file holds (duration, streams), asked of ffprobe with the sandbox's restrictions."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import attrs

from conversio.errors import CorruptFile, Timeout
from conversio_media.sandbox import PROTOCOLS, clean_message, demuxer, tool, url

PROBE_TIMEOUT = 60.0
logger = logging.getLogger(__name__)


@attrs.frozen
class VideoStream:
    width: int
    height: int
    fps: float | None


@attrs.frozen
class MediaInfo:
    """Duration in seconds (None when the file does not tell) and the main streams."""

    duration: float | None
    video: VideoStream | None
    audio: bool
    audio_channels: int | None = None
    audio_rate: int | None = None


def probe(path: Path, fmt: str, name: str = "", timeout: float = PROBE_TIMEOUT) -> MediaInfo:
    """Probe ``path`` as ``fmt``; unreadable content is ``CORRUPT_FILE`` with ffprobe's message."""
    forced = demuxer(fmt, name, path)
    command = [
        tool("ffprobe"),
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        PROTOCOLS,
        "-format_whitelist",
        forced,
        "-f",
        forced,
        "-show_entries",
        "format=duration:stream=codec_type,codec_name,width,height,duration,avg_frame_rate,channels,"
        "sample_rate:stream_disposition=attached_pic",
        "-of",
        "json",
        url(path),
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise Timeout(f"ffprobe took longer than {timeout:g} s on {name or path.name}") from None
    stderr = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        last = stderr.splitlines()[-1] if stderr else f"ffprobe exit code {done.returncode}"
        logger.info("ffprobe could not read %s as %s: %s", name or path.name, forced, clean_message(last))
        raise CorruptFile(
            f"{name or path.name} cannot be read as {fmt}: it is damaged, cut short or not {fmt} at all",
            file=name or path.name,
            format=fmt,
        )
    return parse(json.loads(done.stdout or b"{}"), name or path.name, fmt)


def parse(data: dict[str, Any], name: str, fmt: str) -> MediaInfo:
    """A :class:`MediaInfo` from ffprobe's JSON; no audio or video stream is ``CORRUPT_FILE``."""
    streams = data.get("streams") or []
    videos = [
        s
        for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos and not audios:
        raise CorruptFile(f"{name} holds no audio or video stream", file=name, format=fmt)
    video = None
    if videos and videos[0].get("width") and videos[0].get("height"):
        first = videos[0]
        video = VideoStream(int(first["width"]), int(first["height"]), _rate(first.get("avg_frame_rate")))
    durations = [_number((data.get("format") or {}).get("duration"))]
    durations += [_number(s.get("duration")) for s in videos + audios]
    known = [d for d in durations if d is not None and d > 0]
    audio = audios[0] if audios else {}
    return MediaInfo(
        duration=known[0] if known else None,
        video=video,
        audio=bool(audios),
        audio_channels=int(audio["channels"]) if audio.get("channels") else None,
        audio_rate=int(audio["sample_rate"]) if audio.get("sample_rate") else None,
    )


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _rate(value: object) -> float | None:
    if not isinstance(value, str) or "/" not in value:
        return None
    num, _, den = value.partition("/")
    try:
        rate = float(num) / float(den)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None
