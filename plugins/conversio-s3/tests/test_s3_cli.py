"""End to end: the ``conversio`` command with its store in S3 converts a real PNG to a JPEG."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conversio_s3.store import S3Store
from PIL import Image


def test_convert_with_the_store_in_s3(s3_url: str, tmp_path: Path) -> None:
    picture = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            picture.putpixel((x, y), (x * 4, y * 5, 128))
    picture.save(tmp_path / "gradient.png")
    env = {**os.environ, "CONVERSIO_STORE": s3_url}
    run = subprocess.run(
        [sys.executable, "-m", "conversio", "convert", str(tmp_path / "gradient.png"), "--to", "jpg",
         "-o", str(tmp_path / "gradient.jpg")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    with Image.open(tmp_path / "gradient.jpg") as result:
        assert (result.format, result.size) == ("JPEG", (64, 48))
        red, green, _ = result.convert("RGB").getpixel((63, 47))
        assert abs(red - 252) < 16 and abs(green - 235) < 16
    stored = S3Store.from_url(s3_url)
    assert {a.format for a in stored.list()} >= {"png", "jpg"}  # input and result went to S3
