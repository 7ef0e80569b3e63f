"""The converters conversio-media declares, and the routes they make."""

from __future__ import annotations

import importlib.util
import subprocess
import tomllib
from pathlib import Path

import pytest
from conversio_media.catalogue import ENCODERS, FORMATS
from conversio_media.specs import all_specs

from conversio.errors import ConversioError
from conversio.testing import make_conversio

ROOT = Path(__file__).resolve().parents[1]


def test_ids_are_unique_and_formats_are_cores() -> None:
    specs = all_specs()
    assert len({s.id for s in specs}) == len(specs)
    app = make_conversio("conversio_media.plugin")
    for spec in specs:
        assert spec.source in app.registry.formats and spec.target in app.registry.formats
        assert spec.install_hint and spec.run.startswith("conversio_media.convert:")


def test_every_codec_has_an_installed_encoder() -> None:
    listed = subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=True
    )
    names = {
        line.split()[1]
        for line in listed.stdout.splitlines()
        if line.startswith(" ") and len(line.split()) > 1
    }
    for fmt in FORMATS.values():
        for codec in (*fmt.video_codecs, *fmt.audio_codecs):
            assert ENCODERS[codec] in names, codec


@pytest.mark.parametrize(
    ("source", "target", "path"),
    [
        ("mp4", "webm", "mp4 → webm"),
        ("mov", "mp3", "mov → mp3"),
        ("mkv", "jpg", "mkv → jpg"),
        ("avi", "gif", "avi → gif"),
        ("gif", "mp4", "gif → mp4"),
        ("flac", "opus", "flac → opus"),
    ],
)
def test_direct_routes(source: str, target: str, path: str) -> None:
    app = make_conversio("conversio_media.plugin")
    assert str(app.route(source, target)) == path


def test_frames_when_preferred() -> None:
    app = make_conversio("conversio_media.plugin")
    assert app.route("mp4", "png").steps[0].converter == "media.ffmpeg:mp4->png"
    route = app.route("mp4", "png", prefer=["media.ffmpeg.frames"])
    assert route.steps[0].converter == "media.ffmpeg.frames:mp4->png" and route.bundle_out


@pytest.mark.skipif(
    importlib.util.find_spec("conversio_image") is None, reason="conversio-image is not installed"
)
@pytest.mark.parametrize(
    ("source", "target"), [("png", "gif"), ("gif", "png"), ("jpg", "gif"), ("gif", "webp")]
)
def test_image_only_routes_stay_with_pillow(source: str, target: str) -> None:
    app = make_conversio("conversio_media.plugin", "conversio_image.plugin")
    [step] = app.route(source, target).steps
    assert step.converter.startswith("image.pillow:")


@pytest.mark.parametrize("target", ["mp3", "wav", "jpg"])
def test_a_gif_made_video_is_never_converted_further(target: str) -> None:
    """gif → video converters only end a route: a GIF has no sound (and gif → jpg is conversio-image's)."""
    app = make_conversio("conversio_media.plugin")
    with pytest.raises(ConversioError) as info:
        app.route("gif", target)
    assert info.value.code == "NO_ROUTE"
    assert str(app.route("gif", "webm")) == "gif → webm"
    assert "mp3" not in app.router.reachable("gif")


@pytest.mark.skipif(
    importlib.util.find_spec("conversio_image") is None, reason="conversio-image is not installed"
)
def test_still_images_have_no_route_to_audio() -> None:
    app = make_conversio("conversio_media.plugin", "conversio_image.plugin")
    with pytest.raises(ConversioError) as info:
        app.route("png", "mp3")
    assert info.value.code == "NO_ROUTE"
    assert str(app.route("gif", "mp4")) == "gif → mp4"


def test_pyproject_declares_ffmpeg() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["tool"]["conversio"]["debian-packages"] == ["ffmpeg"]
    assert data["project"]["entry-points"]["conversio"] == {"media": "conversio_media.plugin"}
