"""ffmpeg runs under a memory cap of its own, and a media step's time limit follows its duration."""

from __future__ import annotations

from pathlib import Path

import pytest
from media_helpers import duration, make_video

from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

MIB = 1024 * 1024


def test_ffmpeg_over_its_memory_cap_is_file_too_large(tmp_path: Path) -> None:
    """VP9 of 1080p frames needs more than 300 MiB of address space: refused, not a damaged input."""
    clip = make_video(
        tmp_path / "hd.avi", seconds=1.0, size="1920x1080", codec=("-c:v", "mpeg4"), audio=False
    )
    capped = Limits(max_engine_memory=300 * MIB)
    with (
        make_conversio("conversio_media.plugin", executor="process", workers=1, limits=capped) as app,
        pytest.raises(ConversioError) as info,
    ):
        app.convert(clip, to="webm").run()
    assert info.value.code == "FILE_TOO_LARGE"
    assert "memory" in str(info.value) and "ffmpeg" not in str(info.value)
    with make_conversio("conversio_media.plugin", executor="process", workers=1) as app:
        [out] = app.convert(clip, to="webm").run().save(tmp_path / "out.webm")  # the default cap: enough
    assert duration(out) == pytest.approx(1.0, rel=0.1)


def test_a_media_step_gets_time_by_duration() -> None:
    assert Limits().step_timeout("media", duration=30) == 120
    assert Limits().step_timeout("media", duration=10**6) == Limits().step_timeout("media")
    assert Limits(timeout=5).step_timeout("media", duration=30) == 5
