"""Fixtures of conversio-media's tests: small clips made once per session with lavfi sources."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from media_helpers import make_audio, make_video

import conversio
from conversio.testing import make_conversio

if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
    pytest.skip("ffmpeg is not installed (scripts/bootstrap.sh installs it)", allow_module_level=True)


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of generated samples (each made when first asked for, see the fixtures below)."""
    return tmp_path_factory.mktemp("media-samples")


@pytest.fixture(scope="session")
def clip(samples: Path) -> Path:
    """2 s, 320x240, 25 fps H.264 + AAC (a mono 440 Hz sine at 44.1 kHz) in MP4."""
    return make_video(samples / "clip.mp4")


@pytest.fixture(scope="session")
def silent_clip(samples: Path) -> Path:
    """2 s, 320x240, 25 fps H.264 without audio in MP4."""
    return make_video(samples / "silent.mp4", audio=False)


@pytest.fixture(scope="session")
def odd_clip(samples: Path) -> Path:
    """1 s, 161x91 (odd sizes) MJPEG + PCM in AVI."""
    return make_video(
        samples / "odd.avi",
        seconds=1.0,
        size="161x91",
        codec=("-c:v", "mjpeg"),
        audio_codec=("-c:a", "pcm_s16le"),
    )


@pytest.fixture(scope="session")
def tone(samples: Path) -> Path:
    """1 s stereo 48 kHz 16-bit WAV (440 Hz left, 660 Hz right)."""
    return make_audio(samples / "tone.wav")


@pytest.fixture(scope="session")
def long_clip(samples: Path) -> Path:
    """30 s, 640x360 MPEG-4 Part 2: quick to make, slow to turn into VP9 with preset veryslow."""
    return make_video(
        samples / "long.avi", seconds=30.0, size="640x360", codec=("-c:v", "mpeg4", "-q:v", "8"), audio=False
    )


@pytest.fixture(scope="module")
def app() -> Iterator[conversio.Conversio]:
    """conversio with only conversio-media, a memory store, inline."""
    instance = make_conversio("conversio_media.plugin")
    yield instance
    instance.close()
