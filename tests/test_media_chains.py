"""The media plugin beside the others: who converts GIFs, and video frames going on to zip and PDF."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

import conversio

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s, 320×240, 10 fps test pattern in mp4."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    pattern = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "3", "-pix_fmt", "yuv420p"]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", *pattern, str(path)],
        check=True,
        timeout=60,
    )
    return path


def test_still_images_and_gifs_stay_with_pillow(app: conversio.Conversio) -> None:
    for source, target in (("png", "gif"), ("gif", "png"), ("gif", "webp")):
        [step] = app.route(source, target).steps
        assert step.converter.startswith("image."), (source, target, step.converter)
    assert app.route("gif", "mp4").steps[0].converter.startswith("media.")
    with pytest.raises(conversio.errors.NoRoute):
        app.route("png", "mp3")  # a video made from a GIF has no sound to take on


def test_video_frames_to_zip(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    result = app.convert(
        clip, to="zip", via=["jpg"], prefer=["media.ffmpeg.frames"], options={"every": 1.0}
    ).run()
    with zipfile.ZipFile(result.save(tmp_path / "frames.zip")[0]) as archive:
        names = archive.namelist()
        assert len(names) == 3, names  # one frame a second of a 3 s clip
        assert names == sorted(names)
        for name in names:
            with Image.open(archive.open(name)) as frame:
                assert frame.format == "JPEG" and frame.size == (320, 240)


def test_video_thumbnail_to_pdf(app: conversio.Conversio, clip: Path, tmp_path: Path) -> None:
    assert app.route("mp4", "pdf").formats == ["mp4", "jpg", "pdf"]  # a thumbnail, then a page
    [saved] = app.convert(clip, to="pdf").save(tmp_path / "thumbnail.pdf")
    with pikepdf.open(saved) as pdf:
        assert len(pdf.pages) == 1
        [image] = pdf.pages[0].get_images().values()
        assert (int(image.Width), int(image.Height)) == (320, 240)
