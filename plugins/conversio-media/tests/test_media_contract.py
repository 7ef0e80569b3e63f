"""The checks every conversio converter passes, for a representative set of media converters."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from media_helpers import make_audio, make_video

from conversio.testing import ConverterContract

_CACHE = Path(tempfile.mkdtemp(prefix="conversio-media-contract-"))
atexit.register(shutil.rmtree, _CACHE, True)


def _sample(name: str, tmp_path: Path) -> Path:
    """A copy in ``tmp_path`` of a small sample made once per test session."""
    cached = _CACHE / name
    if not cached.exists():
        if name.endswith((".wav", ".m4a")):
            codec = ("-c:a", "aac") if name.endswith(".m4a") else ()
            make_audio(cached, seconds=0.5, codec=codec)
        else:
            make_video(cached, seconds=0.5, size="96x64")
    target = tmp_path / name
    shutil.copyfile(cached, target)
    return target


class MediaContract(ConverterContract):
    plugin = "conversio_media.plugin"
    heavy_modules = ("ffmpeg",)
    sample = "clip.mp4"

    def make_sample(self, tmp_path: Path) -> Path:
        return _sample(self.sample, tmp_path)


class TestMp4ToWebm(MediaContract):
    converter_id = "media.ffmpeg:mp4->webm"
    options: ClassVar[dict[str, Any]] = {"preset": "ultrafast"}


class TestMkvToGif(MediaContract):
    converter_id = "media.ffmpeg:mkv->gif"
    sample = "clip.mkv"


class TestThumbnail(MediaContract):
    converter_id = "media.ffmpeg:mp4->jpg"


class TestFrames(MediaContract):
    converter_id = "media.ffmpeg.frames:mp4->png"
    options: ClassVar[dict[str, Any]] = {"every_frames": 5}


class TestTranscodeOperation(MediaContract):
    converter_id = "media.ffmpeg:transcode(mp4)"
    options: ClassVar[dict[str, Any]] = {"width": 48, "preset": "ultrafast"}


class TestWavToMp3(MediaContract):
    converter_id = "media.ffmpeg:wav->mp3"
    sample = "tone.wav"


class TestM4aToOpus(MediaContract):
    converter_id = "media.ffmpeg:m4a->opus"
    sample = "tone.m4a"


class TestVideoToFlac(MediaContract):
    converter_id = "media.ffmpeg:mp4->flac"
