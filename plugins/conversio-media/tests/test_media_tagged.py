"""Real-world audio: ID3v2 tags before the audio (of several sizes, with cover art), an ``id3 ``
chunk in a WAV, raw AAC (ADTS) named ``.aac``; outputs probed to be of the target format;
``confirm_format``; errors that name the user's file and nothing of ffmpeg or the server."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conversio_media.plugin import confirm_format
from conversio_media.runner import failure
from conversio_media.specs import all_specs
from media_helpers import ffmpeg, make_audio, make_video, played, probe
from PIL import Image

import conversio
from conversio.converters import ConversionRequest, InputFile, Output
from conversio.errors import ConversioError, CorruptFile
from conversio.limits import Limits

SPECS = {spec.id: spec for spec in all_specs()}
#: ffprobe's format_name for each target.
FORMAT_NAMES = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg", "opus": "ogg", "m4a": "mov,mp4,m4a"}


def run(path: Path, source: str, target: str, out: Path, name: str | None = None) -> list[Output]:
    """The converter ``source -> target`` on ``path`` (stored as ``name``), as the engine runs it."""
    spec = SPECS[f"media.ffmpeg:{source}->{target}"]
    out.mkdir(parents=True, exist_ok=True)
    request = ConversionRequest(
        inputs=(InputFile(path, name or path.name, source),),
        output_dir=out,
        source=source,
        target=target,
        options=spec.options.validate({}),
        limits=Limits(),
    )
    return list(spec.load()(request))


def _syncsafe(size: int) -> bytes:
    return bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + b"\0\0" + body


def cover(size: int) -> bytes:
    """A real JPEG of at least ``size`` bytes (noise compresses badly)."""
    side = 64
    while True:
        picture = Image.frombytes(
            "RGB", (side, side), bytes((i * 7919 + i // 3) % 251 for i in range(side**2 * 3))
        )
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=95)
        if buffer.tell() >= size:
            return buffer.getvalue()
        side *= 2


def id3(picture: bytes = b"", padding: int = 0) -> bytes:
    """An ID3v2.3 tag: a title, optional cover art (APIC), and ``padding`` zero bytes."""
    frames = _frame(b"TIT2", b"\0tagged by hand")
    if picture:
        frames += _frame(b"APIC", b"\0image/jpeg\0\x03cover\0" + picture)
    body = frames + b"\0" * padding
    return b"ID3\x03\x00\x00" + _syncsafe(len(body)) + body


#: (name, tag): a small tag, one with 8 KiB + of cover art (past the core's sniffing head), a big one.
TAGS = {
    "small": lambda: id3(padding=64),
    "cover-20k": lambda: id3(picture=cover(20_000)),
    "padded-1m": lambda: id3(padding=1 << 20),
}

#: source name → (format conversio calls it, ffmpeg arguments to make it)
SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tone.flac": ("flac", ("-c:a", "flac")),
    "tone.mp3": ("mp3", ("-c:a", "libmp3lame")),
    "tone.ogg": ("ogg", ("-c:a", "libvorbis")),
    "tone.opus": ("opus", ("-c:a", "libopus")),
    "tone.aac": ("m4a", ("-c:a", "aac", "-f", "adts")),
    "tone.wav": ("wav", ()),
}


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    folder = tmp_path_factory.mktemp("plain")
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            made[name] = make_audio(folder / name, seconds=1.0, codec=SOURCES[name][1])
        return made[name]

    return make


def _check(out: Path, target: str, seconds: float = 1.0) -> dict[str, Any]:
    """``out`` is a ``target`` file holding about ``seconds`` of audio."""
    data = probe(out)
    assert data["format"]["format_name"].startswith(FORMAT_NAMES[target]), data["format"]
    assert [s["codec_type"] for s in data["streams"] if s["codec_type"] == "audio"] == ["audio"]
    assert played(out) == pytest.approx(seconds, abs=0.1)
    return data


@pytest.mark.parametrize("tag", list(TAGS))
@pytest.mark.parametrize("source", list(SOURCES))
def test_audio_after_an_id3_tag_converts(
    source: str, tag: str, plain: Callable[[str], Path], tmp_path: Path
) -> None:
    fmt = SOURCES[source][0]
    tagged = tmp_path / source
    tagged.write_bytes(TAGS[tag]() + plain(source).read_bytes())
    for target in ("mp3", "wav") if fmt not in ("mp3", "wav") else ("flac", "m4a"):
        [out] = run(tagged, fmt, target, tmp_path / target)
        assert out.path.name == f"tone.{target}"
        _check(out.path, target)


def test_wav_with_an_id3_chunk_converts(plain: Callable[[str], Path], tmp_path: Path) -> None:
    """Taggers put ID3 in a WAV as a RIFF chunk (``id3 ``), often after the samples."""
    data = bytearray(plain("tone.wav").read_bytes())
    tag = id3(picture=cover(20_000))
    chunk = b"id3 " + struct.pack("<I", len(tag)) + tag + b"\0" * (len(tag) % 2)
    data += chunk
    struct.pack_into("<I", data, 4, len(data) - 8)
    wav = tmp_path / "tagged.wav"
    wav.write_bytes(bytes(data))
    [out] = run(wav, "wav", "mp3", tmp_path / "out")
    _check(out.path, "mp3")


def test_raw_aac_named_aac_is_read_as_adts(plain: Callable[[str], Path], tmp_path: Path) -> None:
    """``.aac`` is conversio's m4a, but the file is usually raw ADTS: read as such, not refused."""
    [out] = run(plain("tone.aac"), "m4a", "opus", tmp_path / "out")
    _check(out.path, "opus")


@pytest.mark.parametrize("target", ["mp3", "wav", "flac", "ogg", "opus", "m4a"])
def test_every_audio_output_is_of_its_target_format(target: str, tmp_path: Path) -> None:
    source = make_video(tmp_path / "clip.mp4", seconds=1.0, size="64x48")
    [out] = run(source, "mp4", target, tmp_path / "out")
    _check(out.path, target)
    assert out.path.read_bytes()[:64] != source.read_bytes()[:64]


def test_mp3_with_cover_art_to_mp4_takes_no_picture_for_video(
    plain: Callable[[str], Path], tmp_path: Path
) -> None:
    """Cover art is not a video stream: an mp3 has nothing to make a video of."""
    tagged = tmp_path / "song.mp3"
    tagged.write_bytes(id3(picture=cover(20_000)) + plain("tone.mp3").read_bytes())
    [out] = run(tagged, "mp3", "m4a", tmp_path / "out")
    assert [s["codec_type"] for s in probe(out.path)["streams"]] == ["audio"]


# -- confirm_format -----------------------------------------------------------------------------

VIDEOS = {"mp4": "clip.mp4", "mov": "clip.mov", "mkv": "clip.mkv", "webm": "clip.webm", "avi": "clip.avi"}


@pytest.fixture(scope="module")
def files(plain: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("confirm")
    found = {SOURCES[name][0]: plain(name) for name in SOURCES if name != "tone.aac"}
    found["m4a"] = make_audio(folder / "tone.m4a", codec=("-c:a", "aac"))
    first = make_video(folder / "clip.mp4", seconds=0.5, size="64x48")
    for fmt, name in VIDEOS.items():
        if fmt != "mp4":
            codec = ("-c:v", "libvpx-vp9", "-c:a", "libopus") if fmt == "webm" else ("-c", "copy")
            codec = ("-c:v", "mpeg4", "-c:a", "mp3") if fmt == "avi" else codec
            ffmpeg("-i", str(first), *codec, str(folder / name))
        found[fmt] = folder / name
    return found


OTHER = {"mp4": "mkv", "mov": "avi", "mkv": "mp4", "webm": "avi", "avi": "webm", "mp3": "flac", "wav": "mp3",
         "flac": "ogg", "ogg": "wav", "opus": "ogg", "m4a": "mp3"}  # fmt: skip


@pytest.mark.parametrize("fmt", list(OTHER))
def test_confirm_format_knows_each_format_from_the_others(
    fmt: str, files: dict[str, Path], tmp_path: Path
) -> None:
    assert confirm_format(path=files[fmt], format=fmt) is True
    assert confirm_format(path=files[OTHER[fmt]], format=fmt) is False
    text = tmp_path / "notes.txt"
    text.write_text("ID3 is a tag; RIFF and OggS and fLaC are magic words.\n" * 100)
    assert confirm_format(path=text, format=fmt) is False
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes((i * 7919) % 256 for i in range(50_000)))
    assert confirm_format(path=noise, format=fmt) is False


def test_confirm_format_sees_through_id3_and_adts(plain: Callable[[str], Path], tmp_path: Path) -> None:
    flac = tmp_path / "tagged.flac"
    flac.write_bytes(id3(picture=cover(20_000)) + plain("tone.flac").read_bytes())
    assert confirm_format(path=flac, format="flac") is True
    assert confirm_format(path=flac, format="mp3") is False
    assert confirm_format(path=plain("tone.aac"), format="m4a") is True


@pytest.mark.parametrize("fmt", ["gif", "png", "pdf", "txt"])
def test_confirm_format_leaves_other_formats_to_other_plugins(fmt: str, plain: Callable[[str], Path]) -> None:
    assert confirm_format(path=plain("tone.wav"), format=fmt) is None


# -- messages -----------------------------------------------------------------------------------


def test_unreadable_input_names_the_file_and_nothing_of_ffmpeg(tmp_path: Path) -> None:
    folder = tmp_path / "server-side-store"
    folder.mkdir()
    bad = folder / "0123abcd.bin"
    bad.write_bytes(b"fLaC" + bytes((i * 31) % 256 for i in range(4000)))
    with pytest.raises(ConversioError) as info:
        run(bad, "flac", "mp3", tmp_path / "out", name="My Song.flac")
    error = info.value
    assert isinstance(error, CorruptFile)
    assert "My Song.flac" in error.message
    shown = error.message + repr(error.details)
    for secret in ("server-side-store", "0123abcd", "file:", " @ 0x", "Invalid data"):
        assert secret not in shown, shown


@pytest.mark.parametrize(
    ("returncode", "errors", "code"),
    [
        (-9, [], "CONVERSION_FAILED"),
        (1, ["file:/srv/x/in.flac: Invalid data found when processing input"], "CORRUPT_FILE"),
        (
            1,
            ["[libx264 @ 0x55] width not divisible by 2 (161x91)", "Error while opening encoder"],
            "INVALID_OPTION",
        ),
        (1, ["av_interleaved_write_frame(): No space left on device"], "INSUFFICIENT_STORAGE"),
    ],
)
def test_failures_speak_in_the_users_terms(returncode: int, errors: list[str], code: str) -> None:
    error = failure(returncode, errors, "My Song.flac (flac → mp3)")
    assert error.code == code and "My Song.flac (flac → mp3)" in error.message
    shown = error.message + repr(error.details)
    assert "/srv/" not in shown and "@ 0x" not in shown and "ffmpeg" not in error.details
    assert error.details.get("crashed", False) is (returncode < 0)


@pytest.mark.parametrize("source", ["tone.flac", "tone.ogg", "tone.wav"])
def test_tagged_files_are_sniffed_and_converted_end_to_end(
    source: str, app: conversio.Conversio, plain: Callable[[str], Path], tmp_path: Path
) -> None:
    """Through the core's sniffing (which skips ID3v2 tags): the real format, never a copy as mp3."""
    tagged = tmp_path / source
    original = plain(source).read_bytes()
    tagged.write_bytes(id3(picture=cover(20_000)) + original)
    assert app.sniff(tagged).format == SOURCES[source][0]
    [out] = app.convert(tagged, to="mp3").save(tmp_path / "out.mp3")
    _check(out, "mp3")
    assert out.read_bytes() != tagged.read_bytes()


def test_tagged_raw_aac_is_sniffed_as_aac_and_converted(
    app: conversio.Conversio, plain: Callable[[str], Path], tmp_path: Path
) -> None:
    """An ID3v2 tag before a raw AAC (ADTS) stream: the stream after it decides, as for FLAC."""
    tagged = tmp_path / "tone.aac"
    tagged.write_bytes(id3(picture=cover(20_000)) + plain("tone.aac").read_bytes())
    assert app.sniff(tagged).format == "m4a"
    [out] = app.convert(tagged, to="mp3").save(tmp_path / "out.mp3")
    _check(out, "mp3")
    assert out.read_bytes() != tagged.read_bytes()
