"""``confirm_format``: does a file really read as one of conversio-media's formats?

ffprobe guesses the container among conversio-media's demuxers only (no playlist or image
demuxer, the ``file`` protocol only), reading headers, within :data:`CONFIRM_TIMEOUT`
seconds; its guess must be a demuxer of the claimed format, and the file must hold an audio
or video stream (cover art aside).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from conversio_media.catalogue import FORMATS
from conversio_media.runner import die_with_parent
from conversio_media.sandbox import ADTS_DEMUXER, PROTOCOLS, url

CONFIRM_TIMEOUT = 5.0
#: GIF is conversio-image's to judge: it reads every GIF, animated or not.
_NOT_OURS = frozenset({"gif"})
_DEMUXERS = ",".join(
    sorted({f.demuxer for f in FORMATS.values() if f.name not in _NOT_OURS} | {ADTS_DEMUXER})
)


def owns(fmt: str) -> bool:
    return fmt in FORMATS and fmt not in _NOT_OURS


def confirm(path: Path, fmt: str, ffprobe: str) -> bool:
    """True when ffprobe reads ``path`` as a container of ``fmt`` holding audio or video."""
    command = [
        ffprobe,
        "-hide_banner",
        "-loglevel",
        "quiet",
        "-protocol_whitelist",
        PROTOCOLS,
        "-format_whitelist",
        _DEMUXERS,
        "-show_entries",
        "format=format_name:stream=codec_type,codec_name:stream_disposition=attached_pic",
        "-of",
        "json",
        url(path),
    ]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=CONFIRM_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        data: dict[str, Any] = json.loads(done.stdout or b"{}") if done.returncode == 0 else {}
    except (subprocess.TimeoutExpired, ValueError):
        return False
    found = set(str((data.get("format") or {}).get("format_name", "")).split(","))
    expected = {FORMATS[fmt].demuxer} | ({ADTS_DEMUXER} if fmt == "m4a" else set())
    if not found & expected:
        return False
    streams = [
        s
        for s in data.get("streams") or []
        if s.get("codec_type") in ("audio", "video") and not (s.get("disposition") or {}).get("attached_pic")
    ]
    if fmt == "opus":
        return any(s.get("codec_name") == "opus" for s in streams)
    return bool(streams)
