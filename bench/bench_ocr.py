"""OCR of a scanned PDF: conversio's ``ocr`` operation vs OCRmyPDF called directly, same settings.

    python -m bench.bench_ocr [--pages 20] [--rounds 3]

Goal (issue 21): conversio (Python API) ≤ 1.05× the time of ``ocrmypdf`` run by hand with the
settings conversio gives it (``--jobs`` = the cores this process may use, English, ``--mode
skip``, ``--optimize 1``, plain PDF output). The CLI, ``conversio convert … --then ocr``, is
shown too. The scan is generated once (bench/.data/ocr): A4 pages of text at 300 dpi,
slightly skewed, with light noise, grayscale JPEG, as an image-only PDF.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import img2pdf  # type: ignore[import-untyped]
import pikepdf
import psutil  # type: ignore[import-untyped]
import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import conversio
from bench.bench_office import WORDS
from bench.common import DATA, filesystem_of, write_report

DPI = 300
A4 = (round(8.27 * DPI), round(11.69 * DPI))
#: The options of the ``ocr`` operation, and the OCRmyPDF flags conversio turns them into.
OPTIONS: dict[str, Any] = {"language": "eng", "mode": "skip", "optimize": 1}


def cores() -> int:
    return len(os.sched_getaffinity(0))


def text_page(rng: random.Random, number: int) -> Image.Image:
    """An A4 page at :data:`DPI`: a heading and about 40 lines of 11-point text, as scanned."""
    page = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(page)
    heading = ImageFont.load_default(size=round(18 * DPI / 72))
    body = ImageFont.load_default(size=round(11 * DPI / 72))
    draw.text((DPI, DPI), f"Chapter {number}: {rng.choice(WORDS).title()}", font=heading, fill=15)
    y = DPI + round(40 * DPI / 72)
    while y < A4[1] - DPI:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 12)))
        draw.text((DPI, y), line.capitalize(), font=body, fill=20)
        y += round(17 * DPI / 72)
    page = page.rotate(rng.uniform(-1.2, 1.2), resample=Image.Resampling.BICUBIC, fillcolor=255)
    page = page.filter(ImageFilter.GaussianBlur(0.7))
    noise = Image.frombytes("L", A4, rng.randbytes(A4[0] * A4[1]))
    return Image.blend(page, noise, 0.04)


def scanned_pdf(pages: int) -> Path:
    """The ``pages``-page scan (made once, from a fixed seed)."""
    folder = DATA / "ocr"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"scan-{pages}pages-{DPI}dpi.pdf"
    if not path.exists():
        rng = random.Random(21)
        images = []
        for number in range(1, pages + 1):
            out = io.BytesIO()
            text_page(rng, number).save(out, "JPEG", quality=60, dpi=(DPI, DPI))
            images.append(out.getvalue())
        layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
        path.write_bytes(
            img2pdf.convert(images, layout_fun=layout, nodate=True, engine=img2pdf.Engine.internal)
        )
    return path


def ocrmypdf_command(source: Path, output: Path) -> list[str]:
    """OCRmyPDF as a user would run it with the settings conversio uses."""
    return [
        sys.executable,
        "-m",
        "ocrmypdf",
        "--jobs",
        str(cores()),
        "--language",
        str(OPTIONS["language"]),
        "--mode",
        str(OPTIONS["mode"]),
        "--optimize",
        str(OPTIONS["optimize"]),
        "--output-type",
        "pdf",
        "--quiet",
        str(source),
        str(output),
    ]


def check(path: Path, pages: int) -> None:
    """The result has every page, each with recognised words (read outside the timing)."""
    document = pdfium.PdfDocument(path)
    try:
        assert len(document) == pages, f"{path.name}: {len(document)} pages, not {pages}"
        for index in range(pages):
            textpage = document[index].get_textpage()
            words = textpage.get_text_bounded().split()
            textpage.close()
            assert len(words) > 100 and "Chapter" in words, f"{path.name}: page {index + 1} has no text"
    finally:
        document.close()
    with pikepdf.open(path) as pdf:
        assert "pdfaid" not in str(pdf.open_metadata()), "a plain PDF was asked for"


def cpu_seconds() -> float:
    """CPU time used so far by this process, its finished children (OCRmyPDF and Tesseract run
    directly, the CLI and its workers) and its live ones (the worker pool, with what they ran)."""
    total = 0.0
    for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)):
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children():
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def measured(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of every run in each round; the order turns round by round, so that no
    run always follows the same one (the load of a shared machine drifts)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            cpu, wall = cpu_seconds(), time.perf_counter()
            runs[name]()
            samples[name].append((time.perf_counter() - wall, cpu_seconds() - cpu))
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    source = scanned_pdf(args.pages)
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-ocr-"))
    app = conversio.Conversio(store=(work / "store").as_uri() + "?durable=0", cache=False)
    outputs = {name: work / f"{name}.pdf" for name in ("api", "cli", "ocrmypdf")}
    env = {
        **os.environ,
        "CONVERSIO_STORE": (work / "cli-store").as_uri() + "?durable=0",
        "CONVERSIO_CACHE": "0",
    }
    then = "ocr:" + ",".join(f"{name}={value}" for name, value in OPTIONS.items())
    cli = [sys.executable, "-m", "conversio", "convert", str(source), "--to", "pdf", "--then", then]

    def api() -> None:
        app.convert(source).then("ocr", **OPTIONS).run().save(outputs["api"])

    runs: dict[str, Callable[[], object]] = {
        "conversio": api,
        "ocrmypdf": lambda: subprocess.run(ocrmypdf_command(source, outputs["ocrmypdf"]), check=True),
        "cli": lambda: subprocess.run(
            [*cli, "-o", str(outputs["cli"])], check=True, env=env, stdout=subprocess.DEVNULL
        ),
    }
    started = datetime.datetime.now(datetime.UTC).strftime("%H:%M UTC")
    load_before = os.getloadavg()[0]
    try:
        for run in runs.values():  # warm up (a worker started, OCRmyPDF's modules cached) and check
            run()
        for output in outputs.values():
            check(output, args.pages)
        samples = measured(runs, args.rounds)
    finally:
        app.close()
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]

    def stats(name: str) -> tuple[float, float, float]:
        walls, cpus = zip(*samples[name], strict=True)
        return statistics.median(walls), min(walls), statistics.median(cpus)

    base = stats("ocrmypdf")
    labels = {
        "conversio": ("conversio `ocr` operation (Python API)", "≤ 1.05×"),
        "ocrmypdf": ("`ocrmypdf` called directly, same settings", "—"),
        "cli": ("`conversio convert … --then ocr` (CLI)", "—"),
    }
    rows = []
    for name, (label, goal) in labels.items():
        wall, fastest, cpu = stats(name)
        ratios = f"{wall / base[0]:.3f}× · {fastest / base[1]:.3f}× · {cpu / base[2]:.3f}×"
        rows.append([label, f"{wall:.1f} · {fastest:.1f} · {cpu:.1f}", ratios, goal])
    size = source.stat().st_size / 1e6
    write_report(
        "ocr",
        f"OCR of a {args.pages}-page scanned PDF: conversio vs OCRmyPDF",
        ["run", "seconds: median · fastest · median CPU", "/ OCRmyPDF's: median · fastest · CPU", "goal"],
        rows,
        [
            f"{args.rounds} rounds after a warm-up round, started {started}, the runs' order turning each",
            f"round; load average (1 min) {load_before:.2f} before, {load_after:.2f} after",
            f"({os.cpu_count()} cores shared with other work, so wall times are noisy: the fastest run and",
            "the CPU time — of the process trees that did the work, OCRmyPDF and Tesseract included —",
            "are steadier).",
            "Each round's times: "
            + "; ".join(f"{name} " + ", ".join(f"{wall:.1f}" for wall, _ in samples[name]) for name in labels)
            + " s.",
            f"The scan: {args.pages} A4 pages of text at {DPI} dpi (a heading and ~40 lines of 11-point",
            f"type each), slightly skewed, blurred, noisy, grayscale JPEG q60, image-only ({size:.1f} MB).",
            f"Same settings everywhere: `--jobs {cores()}` (both cores), `--language eng --mode skip",
            "--optimize 1 --output-type pdf`; OCRmyPDF run as `python -m ocrmypdf`, as conversio runs it.",
            "The only differences in how OCRmyPDF runs: conversio's engine adds MALLOC_ARENA_MAX=2,",
            "and its `--tesseract-timeout` (above the step's) and `--max-image-mpixels` change nothing here.",
            "conversio: a worker process starts OCRmyPDF in its own session under the engine's memory cap",
            "and timeout, after reading the page tree (pikepdf) and checking the languages; it checks the",
            "result's page count, stores it (filesystem store not synced to disk, cache off) and saves it.",
            "Every output is checked outside the timing: all pages, each with recognised words, plain PDF.",
            f"Outputs in {work.parent} ({filesystem_of(work.parent)}).",
        ],
    )


if __name__ == "__main__":
    main()
