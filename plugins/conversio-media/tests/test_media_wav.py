"""A plain WAV is read from its header, and says what ffprobe says; anything unusual goes to ffprobe."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conversio_media.probe import probe
from conversio_media.wav import wav_info
from media_helpers import ffmpeg

import conversio
from conversio.errors import CorruptFile


def _wav(path: Path, codec: str, channels: int = 2, *extra: str) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1.3",
        "-ac", str(channels), "-c:a", codec, *extra, str(path),
    )  # fmt: skip
    return path


def _canonical(path: Path, data: bytes, *, declared: int | None = None, byte_rate: int = 4 * 8000) -> Path:
    """A 16-bit stereo 8 kHz WAV written by hand: ``declared`` overrides the data chunk's size."""
    fmt = struct.pack("<HHIIHH", 1, 2, 8000, byte_rate, 4, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data) if declared is None else declared) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(
    ("codec", "channels"),
    [("pcm_s16le", 2), ("pcm_u8", 1), ("pcm_s24le", 6), ("pcm_s32le", 2), ("pcm_f32le", 2), ("pcm_f64le", 1)],
)
def test_header_agrees_with_ffprobe(tmp_path: Path, codec: str, channels: int) -> None:
    path = _wav(tmp_path / f"{codec}.wav", codec, channels)
    info = wav_info(path)
    assert info is not None
    assert info == probe(path, "wav")
    assert info.duration == pytest.approx(1.3)
    assert (info.audio_channels, info.audio_rate, info.video) == (channels, 44100, None)


@pytest.mark.parametrize(
    ("codec", "extra"),
    [("pcm_alaw", ()), ("adpcm_ms", ()), ("pcm_s16le", ("-rf64", "always"))],
    ids=["alaw", "adpcm", "rf64"],
)
def test_other_wavs_are_left_to_ffprobe(tmp_path: Path, codec: str, extra: tuple[str, ...]) -> None:
    assert wav_info(_wav(tmp_path / "other.wav", codec, 2, *extra)) is None


def test_odd_headers_are_left_to_ffprobe(tmp_path: Path) -> None:
    samples = bytes(4 * 8000)
    assert wav_info(_canonical(tmp_path / "ok.wav", samples)) is not None
    assert wav_info(_canonical(tmp_path / "cut.wav", samples, declared=len(samples) + 4)) is None
    assert wav_info(_canonical(tmp_path / "streamed.wav", samples, declared=0)) is None
    assert wav_info(_canonical(tmp_path / "rate.wav", samples, byte_rate=12345)) is None
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    assert wav_info(garbage) is None
    assert wav_info(tmp_path / "missing.wav") is None


def test_a_plain_wav_converts_without_ffprobe(
    app: conversio.Conversio, tone: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_ffprobe(*args: object, **kwargs: object) -> None:
        raise AssertionError("ffprobe was run")

    monkeypatch.setattr("conversio_media.convert.probe", no_ffprobe)
    result = app.convert(tone, to="mp3").run()
    (out,) = result.save(tmp_path / "tone.mp3")
    assert probe(out, "mp3").duration == pytest.approx(1.0, abs=0.1)


def test_a_cut_short_wav_still_goes_through_ffprobe(app: conversio.Conversio, tmp_path: Path) -> None:
    path = _canonical(tmp_path / "cut.wav", bytes(4 * 8000), declared=4 * 8000 * 10)
    path.write_bytes(path.read_bytes()[:1000])
    result = app.convert(path, to="mp3").run()  # ffprobe measures what is there: it converts
    (out,) = result.save(tmp_path / "cut.mp3")
    assert probe(out, "mp3").audio


def test_a_wav_header_over_garbage_is_corrupt(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"RIFF\x00\x10\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(range(256)) * 16)
    with pytest.raises(CorruptFile):
        app.convert(path, to="mp3").run()
