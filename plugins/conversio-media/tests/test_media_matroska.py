"""A plain Matroska or WebM file is read from its header and says what ffprobe says; anything
unusual goes to ffprobe; and the decoders hold every frame to the pixel limit themselves."""

from __future__ import annotations

import math
import random
import re
import struct
import time
from pathlib import Path

import pytest
from conversio_media.matroska import HEADER_LIMIT, matroska_info
from conversio_media.probe import MediaInfo, probe
from media_helpers import ffmpeg, make_audio, make_video

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import corpus_files, make_conversio

MATROSKA = [(path, row) for path, row in corpus_files("video") if row["format"] in ("mkv", "webm")]


def _agrees(info: MediaInfo | None, path: Path, fmt: str) -> None:
    """``info`` is what ffprobe tells of ``path`` (durations to the microsecond ffprobe prints)."""
    assert info is not None
    expected = probe(path, fmt)
    assert info.duration == pytest.approx(expected.duration, abs=1e-6)
    assert (info.video, info.audio, info.audio_channels, info.audio_rate) == (
        expected.video,
        expected.audio,
        expected.audio_channels,
        expected.audio_rate,
    )


@pytest.mark.parametrize(
    ("name", "video", "audio"),
    [
        ("h264-aac.mkv", ("-c:v", "libx264", "-preset", "ultrafast"), ("-c:a", "aac")),
        (
            "vp9-opus.webm",
            ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"),
            ("-c:a", "libopus"),
        ),
        ("mpeg4-flac.mkv", ("-c:v", "mpeg4"), ("-c:a", "flac")),
    ],
)
def test_header_agrees_with_ffprobe(
    tmp_path: Path, name: str, video: tuple[str, ...], audio: tuple[str, ...]
) -> None:
    path = make_video(tmp_path / name, seconds=1.5, size="352x288", rate=30, codec=video, audio_codec=audio)
    info = matroska_info(path)
    _agrees(info, path, path.suffix[1:])
    assert info is not None and info.video is not None
    assert (info.video.width, info.video.height, info.video.fps) == (352, 288, 30.0)


def test_ntsc_rate_and_several_audio_tracks(tmp_path: Path) -> None:
    path = tmp_path / "ntsc.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30000/1001:duration=2",
        "-f", "lavfi", "-i", "sine=duration=2:sample_rate=32000", "-f", "lavfi", "-i", "sine=duration=2",
        "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
        str(path),
    )  # fmt: skip
    info = matroska_info(path)
    _agrees(info, path, "mkv")
    assert info is not None and info.video is not None and info.video.fps == 30000 / 1001
    assert info.audio_rate == 32000  # the first audio track's


def test_video_alone_and_audio_alone(tmp_path: Path) -> None:
    silent = make_video(tmp_path / "silent.mkv", audio=False)
    _agrees(matroska_info(silent), silent, "mkv")
    sound = make_audio(tmp_path / "sound.mkv", codec=("-c:a", "libopus"))
    info = matroska_info(sound)
    _agrees(info, sound, "mkv")
    assert info is not None and info.video is None and info.audio_channels == 2


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), MATROSKA, ids=[p.name for p, _ in MATROSKA])
def test_corpus_headers_agree_with_ffprobe(path: Path, row: dict[str, str]) -> None:
    _agrees(matroska_info(path), path, row["format"])


def test_unusual_files_are_left_to_ffprobe(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mkv")
    live = tmp_path / "live.mkv"  # written as a stream: no duration, sizes unknown
    ffmpeg("-i", str(clip), "-c", "copy", "-f", "matroska", "-live", "1", str(live))
    assert matroska_info(live) is None
    head = tmp_path / "head.mkv"
    head.write_bytes(clip.read_bytes()[:200])
    assert matroska_info(head) is None
    (tmp_path / "text.mkv").write_text("not a matroska file\n" * 100)
    assert matroska_info(tmp_path / "text.mkv") is None
    assert matroska_info(tmp_path / "missing.mkv") is None


def test_damaged_headers_never_raise_and_are_read_quickly(tmp_path: Path) -> None:
    """Bytes of a real header flipped at random: the reader answers (a MediaInfo or None), fast."""
    codec, audio_codec = ("-c:v", "libvpx", "-deadline", "realtime"), ("-c:a", "libopus")
    original = make_video(tmp_path / "clip.webm", codec=codec, audio_codec=audio_codec).read_bytes()
    rng = random.Random(7)
    damaged = tmp_path / "damaged.webm"
    started = time.monotonic()
    for _ in range(300):
        data = bytearray(original[:4096])
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        damaged.write_bytes(bytes(data) + original[4096:])
        info = matroska_info(damaged)
        assert info is None or isinstance(info, MediaInfo)
    assert time.monotonic() - started < 10
    assert HEADER_LIMIT <= 1024 * 1024  # what a header read may cost in memory


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, 44100.5])
def test_a_nonsense_sample_rate_is_left_to_ffprobe(tmp_path: Path, value: float) -> None:
    data = bytearray(make_audio(tmp_path / "sound.mka", codec=("-c:a", "flac")).read_bytes())
    found = re.search(rb"\xb5([\x84\x88])", data[:HEADER_LIMIT])  # SamplingFrequency, 4 or 8 bytes
    assert found is not None
    width = found.group(1)[0] & 0x0F
    data[found.end() : found.end() + width] = struct.pack(">f" if width == 4 else ">d", value)
    (tmp_path / "odd.mka").write_bytes(bytes(data))
    assert matroska_info(tmp_path / "sound.mka") is not None
    assert matroska_info(tmp_path / "odd.mka") is None


def test_a_plain_matroska_file_converts_without_ffprobe(
    app: conversio.Conversio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_ffprobe(*args: object, **kwargs: object) -> None:
        raise AssertionError("ffprobe was run")

    clip = make_video(tmp_path / "clip.mkv", seconds=1.0)
    monkeypatch.setattr("conversio_media.convert.probe", no_ffprobe)
    (out,) = app.convert(clip, to="mp4").run().save(tmp_path / "clip.mp4")
    assert probe(out, "mp4").duration == pytest.approx(1.0, abs=0.1)


def test_frames_that_grow_past_the_pixel_limit_midway_are_refused(tmp_path: Path) -> None:
    """A stream whose frames grow after its header: the header (and ffprobe) tell the first size,
    the decoder stops at the first frame over the limit."""
    small, big = tmp_path / "small.h264", tmp_path / "big.h264"
    for path, size in ((small, "320x240"), (big, "1280x720")):
        ffmpeg(
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=1",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-f", "h264", str(path),
        )  # fmt: skip
    joined = tmp_path / "joined.h264"
    joined.write_bytes(small.read_bytes() + big.read_bytes())
    grown = tmp_path / "grown.mkv"
    ffmpeg("-f", "h264", "-framerate", "25", "-i", str(joined), "-c", "copy", str(grown))
    info = matroska_info(grown) or probe(grown, "mkv")
    assert info.video is not None and (info.video.width, info.video.height) == (320, 240)
    limited = make_conversio("conversio_media.plugin", limits=Limits(max_pixels=320 * 240 * 2))
    with limited as app, pytest.raises(ConversioError) as raised:
        app.convert(grown, to="webm").run()
    assert raised.value.code == "FILE_TOO_LARGE"
    assert raised.value.details["limit"] == "max_pixels"
    with make_conversio("conversio_media.plugin") as app:  # within the default limit it converts
        (out,) = app.convert(grown, to="mp4").run().save(tmp_path / "grown.mp4")
    assert probe(out, "mp4").video is not None
