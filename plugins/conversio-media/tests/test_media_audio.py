"""Audio conversions in every direction, and the audio of a video, checked with ffprobe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from media_helpers import convert, make_audio, probe

import conversio
from conversio.errors import ConversioError

#: format → (codec written by default, how to make a sample of it)
AUDIO = {
    "mp3": ("mp3", ("-c:a", "libmp3lame")),
    "m4a": ("aac", ("-c:a", "aac")),
    "ogg": ("vorbis", ("-c:a", "libvorbis")),
    "opus": ("opus", ("-c:a", "libopus")),
    "flac": ("flac", ("-c:a", "flac")),
    "wav": ("pcm_s16le", ("-c:a", "pcm_s16le")),
}


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("tones")
    return {fmt: make_audio(folder / f"tone.{fmt}", codec=codec) for fmt, (_, codec) in AUDIO.items()}


@pytest.mark.parametrize("source", sorted(AUDIO))
def test_audio_in_every_direction(
    app: conversio.Conversio, tones: dict[str, Path], tmp_path: Path, source: str
) -> None:
    assert app.sniff(tones[source]).format == source
    for target in sorted(AUDIO):
        if target == source:
            continue
        [out] = app.convert(tones[source], to=target).save(tmp_path / f"out.{target}")
        data = probe(out)
        [stream] = data["streams"]
        assert stream["codec_name"] == AUDIO[target][0], (source, target)
        assert int(stream["channels"]) == 2
        assert float(data["format"]["duration"]) == pytest.approx(1.0, abs=0.06), (source, target)
        assert app.sniff(out).format == target


@pytest.mark.parametrize(
    ("target", "options", "expected"),
    [
        ("mp3", {"sample_rate": 22050, "channels": 1, "audio_bitrate": 64},
         {"sample_rate": "22050", "channels": 1}),
        ("opus", {"channels": 1}, {"sample_rate": "48000", "channels": 1}),
        ("wav", {"audio_codec": "pcm_s24le", "sample_rate": 96000},
         {"codec_name": "pcm_s24le", "sample_rate": "96000"}),
        ("m4a", {"audio_codec": "alac"}, {"codec_name": "alac"}),
        ("flac", {"start": 0.25, "duration": 0.5}, {"codec_name": "flac"}),
    ],
)  # fmt: skip
def test_audio_options(
    app: conversio.Conversio,
    tone: Path,
    tmp_path: Path,
    target: str,
    options: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    data = probe(convert(app, tone, target, tmp_path, **options))
    [stream] = data["streams"]
    assert {key: stream[key] for key in expected} == expected
    if "duration" in options:
        assert float(data["format"]["duration"]) == pytest.approx(0.5, abs=0.03)


def test_bitrate_sets_the_size(app: conversio.Conversio, tone: Path, tmp_path: Path) -> None:
    sizes = []
    for kbps in (32, 256):
        [out] = app.convert(tone, to="mp3", options={"audio_bitrate": kbps}).save(tmp_path / f"{kbps}.mp3")
        sizes.append(out.stat().st_size)
    assert sizes[1] > 4 * sizes[0]


@pytest.mark.parametrize(
    ("target", "options", "option"),
    [
        ("flac", {"audio_bitrate": 128}, None),  # flac has no such option
        ("opus", {"sample_rate": 44100}, "sample_rate"),
        ("mp3", {"sample_rate": 96000}, "sample_rate"),
        ("mp3", {"channels": 6}, "channels"),
        ("ogg", {"start": 3.0}, "start"),
        ("ogg", {"channels": 0}, "channels"),
        ("mp3", {"video_codec": "h264"}, None),
        ("m4a", {"audio_codec": "pcm_s16le"}, "audio_codec"),
    ],
)
def test_invalid_audio_options(
    app: conversio.Conversio, tone: Path, target: str, options: dict[str, Any], option: str | None
) -> None:
    with pytest.raises(ConversioError) as info:
        app.convert(tone, to=target, options=options).run()
    assert info.value.code == "INVALID_OPTION"
    if option is not None:
        assert info.value.details.get("option") == option


@pytest.mark.parametrize("target", sorted(AUDIO))
def test_the_audio_of_a_video(app: conversio.Conversio, clip: Path, tmp_path: Path, target: str) -> None:
    [out] = app.convert(clip, to=target).save(tmp_path / f"out.{target}")
    data = probe(out)
    assert [s["codec_type"] for s in data["streams"]] == ["audio"]
    assert data["streams"][0]["codec_name"] == AUDIO[target][0]
    assert float(data["format"]["duration"]) == pytest.approx(2.0, rel=0.05)
