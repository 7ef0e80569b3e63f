"""Bad input and a missing ffmpeg: a clear error with a stable code, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from conversio_media.runner import failure
from media_helpers import make_audio, make_video

import conversio
from conversio.errors import ConversioError


def run_as(app: conversio.Conversio, path: Path, fmt: str, converter: str) -> None:
    """Store ``path`` as ``fmt`` whatever it holds, and run ``converter`` on it."""
    artifact = app.store.put_file(path, name=path.name, format=fmt)
    app.engine.run_converter(converter, [artifact])


def test_truncated_mp4_is_corrupt(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # the index (moov) is at the end
    with pytest.raises(ConversioError) as info:
        app.convert(cut, to="webm").run()
    assert info.value.code == "CORRUPT_FILE"
    assert info.value.message == "cut.mp4 cannot be read as mp4: it is damaged, cut short or not mp4 at all"
    assert "ffmpeg" not in info.value.details and "/tmp/" not in repr(info.value.details)


def test_damaged_stream_is_corrupt_with_ffmpegs_message(app: conversio.Conversio, tmp_path: Path) -> None:
    """A FLAC whose header survives but whose frames are noise: ffmpeg starts, then fails."""
    good = tmp_path / "good.flac"
    make_audio(good, seconds=1.0, codec=("-c:a", "flac"))
    data = bytearray(good.read_bytes())
    data[200:] = bytes((i * 7919) % 251 for i in range(len(data) - 200))
    bad = tmp_path / "bad.flac"
    bad.write_bytes(bytes(data))
    with pytest.raises(ConversioError) as info:
        app.convert(bad, to="mp3").run()
    assert info.value.code == "CORRUPT_FILE"
    assert info.value.details["decoded"] < 0.5 and info.value.details["expected"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("fmt", "converter"), [("mp4", "media.ffmpeg:mp4->webm"), ("mp3", "media.ffmpeg:mp3->wav")]
)
def test_content_of_another_format_is_corrupt(
    app: conversio.Conversio, tone: Path, clip: Path, fmt: str, converter: str
) -> None:
    """The demuxer is forced from the format: a WAV stored as mp4 (or an MP4 as mp3) is not rescued."""
    with pytest.raises(ConversioError) as info:
        run_as(app, tone if fmt == "mp4" else clip, fmt, converter)
    assert info.value.code == "CORRUPT_FILE"


def test_a_format_off_the_allow_list_is_unsupported(app: conversio.Conversio, clip: Path) -> None:
    with pytest.raises(ConversioError) as info:
        run_as(app, clip, "txt", "media.ffmpeg:mp4->webm")
    assert info.value.code == "UNSUPPORTED_FORMAT"


def test_missing_ffmpeg_names_the_package(
    app: conversio.Conversio, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConversioError) as info:
        run_as(app, clip, "mp4", "media.ffmpeg:mp4->mkv")
    assert info.value.code == "MISSING_DEPENDENCY"
    assert "apt-get install --no-install-recommends ffmpeg" in info.value.message
    with pytest.raises(ConversioError) as info:  # through the engine: the same error, not a reroute
        app.convert(clip, to="mkv").run()
    attempts = info.value.details.get("attempts") or [info.value.to_dict()]
    assert {attempt["code"] for attempt in attempts} == {"MISSING_DEPENDENCY"}


def test_video_of_odd_container_converts(app: conversio.Conversio, tmp_path: Path) -> None:
    """An MKV holding VP8 + Vorbis (as WebM does) converts to MP4."""
    source = make_video(
        tmp_path / "v.mkv",
        seconds=0.5,
        codec=("-c:v", "libvpx", "-deadline", "realtime"),
        audio_codec=("-c:a", "libvorbis"),
    )
    [out] = app.convert(source, to="mp4", options={"preset": "ultrafast"}).save(tmp_path / "v.mp4")
    assert app.sniff(out).format == "mp4"


@pytest.mark.parametrize(
    ("returncode", "lines", "code"),
    [
        (1, ["file:/srv/x: Invalid data found when processing input"], "CORRUPT_FILE"),
        (
            1,
            ["[libx264 @ 0x1] width not divisible by 2 (161x91)", "Error while opening encoder"],
            "INVALID_OPTION",
        ),
        (1, ["av_interleaved_write_frame(): No space left on device"], "INSUFFICIENT_STORAGE"),
        (1, ["/srv/out.part: Permission denied"], "CONVERSION_FAILED"),
        (-9, [], "CONVERSION_FAILED"),
        (0, ["[h264 @ 0x1] Picture size 1280x720 exceeds specified max pixel count 1000"], "FILE_TOO_LARGE"),
    ],
)
def test_ffmpeg_failures_get_codes(returncode: int, lines: list[str], code: str) -> None:
    error = failure(returncode, lines, "x.mp4 (mp4 → webm)")
    assert error.code == code
    assert "/srv/" not in error.message and "/srv/" not in str(error.details.get("ffmpeg"))
