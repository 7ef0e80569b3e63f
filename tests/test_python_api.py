"""The Python API as the README shows it, with the real image and archive plugins."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

import conversio
from conversio.errors import ConversioError
from conversio.events import EventKind


def test_single_conversion_with_options(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    src = photo(tmp_path / "photo.png")
    saved = app.convert(src, to="jpg", options={"quality": 85}).save(f"{tmp_path}/out/")
    assert [p.name for p in saved] == ["photo.jpg"]
    with Image.open(saved[0]) as img:
        assert img.format == "JPEG" and img.size == (320, 200)


def test_many_inputs_to_one_zip(app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]) -> None:
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png", colour="green")
    [saved] = app.convert([a, b], to="zip").save(tmp_path / "images.zip")
    with zipfile.ZipFile(saved) as zf:
        assert zf.namelist() == ["a.png", "b.png"]
        assert zf.read("a.png") == a.read_bytes()


def test_archive_members_each_converted(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    album = tmp_path / "album.zip"
    with zipfile.ZipFile(album, "w") as zf:
        zf.write(photo(tmp_path / "one.png"), "one.png")
        zf.write(photo(tmp_path / "two.jpg"), "nested/two.jpg")
    result = app.convert(album, to="webp").run()
    assert sorted(a.name for a in result.artifacts) == ["nested/two.webp", "one.webp"]
    saved = result.save(tmp_path / "out")
    for path in saved:
        assert path.is_relative_to(tmp_path / "out")
        with Image.open(path) as img:
            assert img.format == "WEBP" and img.size == (320, 200)


def test_zip_to_zip_via_webp_is_multi_hop(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    album = tmp_path / "album.zip"
    with zipfile.ZipFile(album, "w") as zf:
        for name in ("x.png", "y.png", "z.png"):
            zf.write(photo(tmp_path / name), name)
    result = app.convert(album, to="zip", via=["webp"]).run()
    assert len(result.steps) == 3  # unpack, each → webp, pack
    with zipfile.ZipFile(result.save(tmp_path / "webp.zip")[0]) as zf:
        assert zf.namelist() == ["x.webp", "y.webp", "z.webp"]
        for name in zf.namelist():
            with zf.open(name) as member, Image.open(member) as img:
                assert img.format == "WEBP"


def test_route_explain_names_converters_and_alternatives(app: conversio.Conversio) -> None:
    found = app.route("png", "zip", via=["webp"])
    assert found.formats == ["png", "webp", "zip"]
    text = found.explain()
    assert "image.pillow:png->webp" in text and "archive" in text
    assert "alternatives" in text


def test_then_chain_resize(app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]) -> None:
    src = photo(tmp_path / "big.png", size=(1600, 1000))
    [saved] = app.convert(src, to="jpg").then("resize", width=800).save(tmp_path / "small.jpg")
    with Image.open(saved) as img:
        assert img.size == (800, 500)


def test_artifacts_are_described(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    result = app.convert(photo(tmp_path / "p.png"), to="webp").run()
    artifact = result.artifact
    assert artifact.format == "webp" and artifact.size > 0 and len(artifact.sha256) == 64
    assert app.store.get(artifact.id) == artifact


def test_second_run_is_served_from_the_cache(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    src = photo(tmp_path / "cached.png", colour="red")
    app.convert(src, to="gif").run()
    kinds = []
    app.convert(src, to="gif").run(on_event=lambda e: kinds.append(e.kind))
    assert EventKind.STEP_CACHED in kinds and EventKind.STEP_STARTED in kinds
    assert EventKind.PROGRESS not in kinds


def test_lying_extension_is_reported(
    app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]
) -> None:
    liar = tmp_path / "liar.jpg"
    photo(tmp_path / "real.png").rename(liar)
    result = app.convert(liar, to="webp").run()
    assert any("content is png" in w for w in result.warnings)


def test_bad_input_gets_a_code(app: conversio.Conversio, tmp_path: Path, photo: Callable[..., Path]) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(ConversioError) as info:
        app.convert(junk, to="jpg").run()
    assert info.value.code == "CORRUPT_FILE"
    with pytest.raises(ConversioError) as info:
        app.convert(photo(tmp_path / "ok.png"), to="jpg", options={"quality": 500}).run()
    assert info.value.code == "INVALID_OPTION"
