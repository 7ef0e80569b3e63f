"""Every real-world audio and video file of the shared corpus converts, checked with ffprobe.

Audio → mp3 and → wav; video → mp4 and a jpg thumbnail. Outputs play as long as the
input (within 5 %, and at least 30 ms: a frame) and hold the streams it had. Durations are
what ffmpeg decodes, not what containers claim: example.opus says 12.72 s and holds 11.35 s,
fixture.m4a's 0.81 s include 44 ms of AAC priming, fixture.avi's 42 ms count its one video
frame and not its 92 ms of audio. Skipped when the corpus is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from media_helpers import convert, played, probe
from PIL import Image

import conversio
from conversio.testing import corpus_files

AUDIO = corpus_files("audio")
VIDEO = corpus_files("video")


def _kinds(path: Path) -> set[str]:
    return {s["codec_type"] for s in probe(path)["streams"] if s["codec_type"] in ("audio", "video")}


def assert_same_length(out: Path, source: Path) -> None:
    expected = played(source)
    assert played(out) == pytest.approx(expected, rel=0.05, abs=0.03)


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), AUDIO, ids=[p.name for p, _ in AUDIO])
@pytest.mark.parametrize("target", ["mp3", "wav"])
def test_corpus_audio(
    app: conversio.Conversio, tmp_path: Path, path: Path, row: dict[str, str], target: str
) -> None:
    assert app.sniff(path).format == row["format"]
    out = convert(app, path, target, tmp_path)
    assert _kinds(out) == {"audio"}
    assert_same_length(out, path)


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), VIDEO, ids=[p.name for p, _ in VIDEO])
def test_corpus_video_to_mp4(
    app: conversio.Conversio, tmp_path: Path, path: Path, row: dict[str, str]
) -> None:
    assert app.sniff(path).format == row["format"]
    out = convert(app, path, "mp4", tmp_path, preset="ultrafast")
    assert _kinds(out) == _kinds(path)
    assert_same_length(out, path)


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), VIDEO, ids=[p.name for p, _ in VIDEO])
def test_corpus_video_thumbnail(
    app: conversio.Conversio, tmp_path: Path, path: Path, row: dict[str, str]
) -> None:
    [video] = [s for s in probe(path)["streams"] if s["codec_type"] == "video"]
    out = convert(app, path, "jpg", tmp_path)
    with Image.open(out) as image:
        assert image.format == "JPEG"
        assert image.size == (video["width"], video["height"])
