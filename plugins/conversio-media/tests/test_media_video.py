"""Video conversions, checked with ffprobe: codecs, streams, sizes, durations, frame counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media_helpers import convert, duration, probe, streams
from PIL import Image

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

#: target → (video codec, audio codec) written by default.
DEFAULT_CODECS = {
    "mp4": ("h264", "aac"),
    "webm": ("vp9", "opus"),
    "mkv": ("h264", "aac"),
    "mov": ("h264", "aac"),
    "avi": ("mpeg4", "mp3"),
}


@pytest.mark.parametrize("target", sorted(DEFAULT_CODECS))
def test_video_to_each_container(app: conversio.Conversio, clip: Path, tmp_path: Path, target: str) -> None:
    out = convert(app, clip, target, tmp_path, preset="ultrafast")
    [video] = streams(out, "video")
    [audio] = streams(out, "audio")
    assert (video["codec_name"], audio["codec_name"]) == DEFAULT_CODECS[target]
    assert (video["width"], video["height"]) == (320, 240)
    assert int(video["nb_read_frames"]) == 50
    assert duration(out) == pytest.approx(2.0, rel=0.05)
    assert app.sniff(out).format == target


def test_odd_sized_mjpeg_avi_to_mp4_and_webm(
    app: conversio.Conversio, odd_clip: Path, tmp_path: Path
) -> None:
    for target in ("mp4", "webm"):
        out = convert(app, odd_clip, target, tmp_path, preset="ultrafast")
        [video] = streams(out, "video")
        assert (video["width"], video["height"]) == (160, 90)  # 4:2:0 needs even sizes
        assert len(streams(out, "audio")) == 1


def test_resize_keeps_aspect_and_fps_trim_strip_audio(
    app: conversio.Conversio, clip: Path, tmp_path: Path
) -> None:
    out = convert(app, clip, "mkv", tmp_path, width=160, fps=10, start=0.5, duration=1.0, strip_audio=True)
    data = probe(out)
    [video] = [s for s in data["streams"] if s["codec_type"] == "video"]
    assert [s["codec_type"] for s in data["streams"]] == ["video"]
    assert (video["width"], video["height"]) == (160, 120)
    assert video["avg_frame_rate"] == "10/1"
    assert int(video["nb_read_frames"]) == 10
    assert float(data["format"]["duration"]) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"width": 200, "height": 200}, (200, 150)),
        ({"width": 200, "height": 200, "keep_aspect": False}, (200, 200)),
        ({"height": 61}, (80, 60)),
    ],
)
def test_box_and_stretch(
    app: conversio.Conversio, clip: Path, tmp_path: Path, options: dict[str, Any], size: tuple[int, int]
) -> None:
    out = convert(app, clip, "mp4", tmp_path, preset="ultrafast", duration=0.2, **options)
    [video] = streams(out, "video")
    assert (video["width"], video["height"]) == size


def test_codec_and_bitrate_choices(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    out = convert(app, clip, "mkv", tmp_path, video_codec="vp9", audio_codec="flac", preset="ultrafast")
    assert [s["codec_name"] for s in probe(out)["streams"]] == ["vp9", "flac"]
    out = convert(app, clip, "mp4", tmp_path, video_codec="hevc", crf=30, preset="ultrafast", duration=0.5)
    assert streams(out, "video")[0]["codec_name"] == "hevc"
    small = convert(app, clip, "avi", tmp_path, video_bitrate=100, audio_bitrate=64)
    large = convert(app, clip, "mov", tmp_path, video_bitrate=2000, preset="ultrafast")
    assert small.stat().st_size < large.stat().st_size


@pytest.mark.parametrize(
    ("target", "options", "option"),
    [
        ("mp4", {"crf": 20, "video_bitrate": 500}, "crf"),
        ("avi", {"crf": 20}, "crf"),
        ("mp4", {"crf": 60}, "crf"),
        ("mp4", {"video_codec": "vp9"}, "video_codec"),
        ("mp4", {"start": 5.0}, "start"),
        ("mkv", {"audio_codec": "flac", "audio_bitrate": 128}, "audio_bitrate"),
        ("webm", {"sample_rate": 44100}, "sample_rate"),
        ("mp4", {"width": 8}, "width"),
    ],
)
def test_invalid_option_combinations(
    app: conversio.Conversio,
    clip: Path,
    tmp_path: Path,
    target: str,
    options: dict[str, Any],
    option: str,
) -> None:
    with pytest.raises(ConversioError) as info:
        convert(app, clip, target, tmp_path, **options)
    assert info.value.code == "INVALID_OPTION"
    assert info.value.details.get("option") == option


def test_video_to_animated_gif(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    out = convert(app, clip, "gif", tmp_path, fps=5, width=100)
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.size == (100, 75)
        assert gif.n_frames == 10
        assert gif.info.get("loop") == 0
        assert gif.info.get("duration") == 200
    assert app.sniff(out).format == "gif"


def test_gif_to_mp4(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    gif = convert(app, clip, "gif", tmp_path, fps=10, width=120)
    [out] = app.convert(gif, to="mp4", options={"preset": "ultrafast"}).save(tmp_path / "back.mp4")
    [video] = streams(out, "video")
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 120, 90)
    assert int(video["nb_read_frames"]) == 20
    assert streams(out, "audio") == []


@pytest.mark.parametrize("target", ["jpg", "png"])
def test_thumbnail_at_an_offset(app: conversio.Conversio, clip: Path, tmp_path: Path, target: str) -> None:
    out = convert(app, clip, target, tmp_path, at=1.5, width=160)
    with Image.open(out) as image:
        assert image.format == {"jpg": "JPEG", "png": "PNG"}[target]
        assert image.size == (160, 120)
        assert image.mode == "RGB"
    assert app.sniff(out).format == target


def test_thumbnail_past_the_end_is_invalid(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ConversioError) as info:
        convert(app, clip, "jpg", tmp_path, at=9.0)
    assert info.value.code == "INVALID_OPTION"


def test_thumbnail_after_the_last_frame_is_the_last_frame(
    app: conversio.Conversio, clip: Path, tmp_path: Path
) -> None:
    """The clip's last frame starts at 1.96 s; 1.99 s is before its end (2.0 s) but after it."""
    last = convert(app, clip, "png", tmp_path / "a", at=1.99)
    direct = convert(app, clip, "png", tmp_path / "b", at=1.96)
    with Image.open(last) as a, Image.open(direct) as b:
        assert a.size == b.size == (320, 240)
        assert a.tobytes() == b.tobytes()


def test_thumbnails_differ_with_time(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    first = convert(app, clip, "png", tmp_path / "a", at=0.0)
    later = convert(app, clip, "png", tmp_path / "b", at=1.9)
    with Image.open(first) as a, Image.open(later) as b:
        assert a.tobytes() != b.tobytes()  # testsrc2 moves over time


@pytest.mark.parametrize(
    ("options", "count"),
    [({"every_frames": 10}, 5), ({"every_frames": 1, "duration": 0.4}, 10), ({"every": 0.5}, 4)],
)
def test_frames(
    app: conversio.Conversio, clip: Path, tmp_path: Path, options: dict[str, Any], count: int
) -> None:
    result = app.convert(clip, to="png", prefer=["media.ffmpeg.frames"], options=options).run()
    names = [a.name for a in result.artifacts]
    assert names == [f"clip-frame{n:06d}.png" for n in range(1, count + 1)]
    paths = result.save(tmp_path / "frames")
    with Image.open(paths[0]) as image:
        assert image.size == (320, 240)


def test_frames_beyond_the_limit_are_refused(clip: Path) -> None:
    limited = make_conversio("conversio_media.plugin", limits=Limits(max_frames=5))
    with limited as app, pytest.raises(ConversioError) as info:
        app.convert(clip, to="jpg", prefer=["media.ffmpeg.frames"], options={"every": 0.1}).run()
    assert info.value.code == "FILE_TOO_LARGE"


def test_frames_over_max_pixels_are_refused(clip: Path) -> None:
    limited = make_conversio("conversio_media.plugin", limits=Limits(max_pixels=320 * 240 - 1))
    with limited as app, pytest.raises(ConversioError) as info:
        app.convert(clip, to="webm").run()
    assert info.value.code == "FILE_TOO_LARGE"
    assert info.value.details["limit"] == "max_pixels"


def test_video_without_audio_to_audio_is_unsupported(
    app: conversio.Conversio, silent_clip: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConversioError) as info:
        convert(app, silent_clip, "mp3", tmp_path)
    assert info.value.code == "UNSUPPORTED_FORMAT"
    out = convert(app, silent_clip, "webm", tmp_path, preset="ultrafast")
    assert [s["codec_type"] for s in probe(out)["streams"]] == ["video"]
