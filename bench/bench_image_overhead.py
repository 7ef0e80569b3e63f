"""PNG → JPEG q85: conversio vs a plain Pillow loop, serial and as a bundle on every core.

    python -m bench.bench_image_overhead [--count 200] [--rounds 3]

Goals (issue 2): serial overhead ≤ 1.05×; the bundle mapped over 2 cores ≥ 1.7× faster
than the serial Pillow loop.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageFilter

import conversio
from bench.common import cached_samples, median_of, write_report

SIZE = (1920, 1080)


def photo_like(path: Path, seed: int) -> None:
    """Smooth colour fields with fine grain: compresses like a photo, not like a flat drawing."""
    rng = random.Random(seed)
    small = Image.new("RGB", (32, 18))
    small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(32 * 18)])
    img = small.resize(SIZE, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(8))
    grain = Image.effect_noise(SIZE, 12).convert("RGB")
    Image.blend(img, grain, 0.12).save(path, "PNG", compress_level=6)


def samples(count: int) -> list[Path]:
    return cached_samples(f"png-{SIZE[0]}x{SIZE[1]}", "photo-{:03d}.png", count, photo_like)


def pillow_loop(paths: list[Path], out: Path) -> None:
    for path in paths:
        with Image.open(path) as img:
            img.convert("RGB").save(out / f"{path.stem}.jpg", "JPEG", quality=85, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    paths = samples(args.count)
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-"))
    # the same kind of store `conversio.convert` uses by default: a local cache, not synced to disk
    app = conversio.Conversio(store=(work / "store").as_uri() + "?durable=0", cache=False)
    serial_app = conversio.Conversio(store=(work / "store1").as_uri() + "?durable=0", cache=False, workers=1)
    try:
        # warm up: worker processes started, Pillow imported in them
        app.convert(paths[:2], to="jpg", options={"quality": 85}).run()
        serial_app.convert(paths[0], to="jpg", options={"quality": 85}).run()

        def fresh(name: str) -> Path:
            folder = work / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            return folder

        def conversio_loop() -> None:
            out = fresh("serial")
            for path in paths:
                serial_app.convert(path, to="jpg", options={"quality": 85}).save(out / f"{path.stem}.jpg")

        def conversio_bundle() -> None:
            app.convert(paths, to="jpg", options={"quality": 85}).save(fresh("bundle"))

        times = median_of(
            {
                "pillow": lambda: pillow_loop(paths, fresh("pillow")),
                "serial": conversio_loop,
                "bundle": conversio_bundle,
            },
            args.rounds,
        )
    finally:
        app.close()
        serial_app.close()
        shutil.rmtree(work, ignore_errors=True)
    base = times["pillow"]
    rows = [
        ["Pillow loop (direct, serial)", f"{base:.2f}", "1.00×", "—"],
        [
            "conversio.convert per file (serial)",
            f"{times['serial']:.2f}",
            f"{times['serial'] / base:.3f}×",
            "≤ 1.05×",
        ],
        [
            "conversio bundle (mapped over workers)",
            f"{times['bundle']:.2f}",
            f"{base / times['bundle']:.2f}× faster",
            "≥ 1.7× faster",
        ],
    ]
    write_report(
        "image-overhead",
        f"{args.count} × {SIZE[0]}×{SIZE[1]} PNG → JPEG q85",
        ["run", "seconds (median)", "ratio to Pillow loop", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds; a filesystem store like the one",
            "`conversio.convert` uses by default (not synced to disk), result cache off; every input is",
            "sniffed, hashed and stored, every output stored, then saved to disk.",
            "Same encoder settings on both sides (JPEG q85, optimize).",
        ],
    )


if __name__ == "__main__":
    main()
