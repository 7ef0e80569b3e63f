"""`make demo` works: scripts/demo.sh runs end to end and its results are what it says."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def _images(archive: Path) -> dict[str, Image.Image]:
    with zipfile.ZipFile(archive) as zf:
        return {name: Image.open(io.BytesIO(zf.read(name))) for name in zf.namelist()}


@pytest.mark.slow
def test_demo_script(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        DEMO_BIN=str(Path(sys.executable).parent),
        DEMO_OUT=str(tmp_path / "out"),
        CONVERSIO_STORE=(tmp_path / "store").as_uri(),
    )
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/demo.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "chosen: zip → members (×items) → webp → zip" in result.stdout

    album = _images(tmp_path / "out/album-webp.zip")
    assert sorted(album) == ["album/harbour.webp", "album/mountains.webp", "album/sunset.webp"]
    assert {(im.format, im.size) for im in album.values()} == {("WEBP", (800, 600))}

    pages = _images(tmp_path / "out/scan-pages.zip")
    assert len(pages) == 3
    assert {(im.format, im.size) for im in pages.values()} == {("PNG", (600, 800))}
