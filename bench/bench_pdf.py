"""PDF → JPEG at 150 dpi, and merging 50 PDFs then AES-256 encryption: conversio vs its engines and CLIs.

    python -m bench.bench_pdf [--pages 50] [--files 50] [--rounds 3]

Goals: rasterising ≤ 1.10× a direct pypdfium2 loop and faster than ``pdftoppm``; merge +
encrypt ≤ 1.10× pikepdf directly (``qpdf`` CLI shown for reference). The CLIs come from
Debian's poppler-utils and qpdf packages; when one is missing its row is skipped.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import img2pdf  # type: ignore[import-untyped]
import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image

import conversio
from bench.bench_office import WORDS
from bench.common import DATA, filesystem_of, median_of, write_report

A4 = (595, 842)
DPI = 150
QUALITY = 85  # conversio-pdf's default JPEG quality


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_content(rng: random.Random, number: int) -> bytes:
    """Vector drawing: filled and stroked shapes, Bézier curves, and 40 lines of text."""
    ops = []
    for _ in range(60):  # translucent-looking stacked rectangles and circles
        r, g, b = (rng.random() for _ in range(3))
        x, y = rng.uniform(30, 480), rng.uniform(30, 740)
        w, h = rng.uniform(20, 120), rng.uniform(20, 120)
        ops.append(f"{r:.3f} {g:.3f} {b:.3f} rg {x:.1f} {y:.1f} {w:.1f} {h:.1f} re f")
        cx, cy, radius = rng.uniform(60, 540), rng.uniform(60, 780), rng.uniform(8, 50)
        k = radius * 0.5523
        ops.append(
            f"{b:.3f} {r:.3f} {g:.3f} RG 1.5 w {cx + radius:.1f} {cy:.1f} m "
            f"{cx + radius:.1f} {cy + k:.1f} {cx + k:.1f} {cy + radius:.1f} {cx:.1f} {cy + radius:.1f} c "
            f"{cx - k:.1f} {cy + radius:.1f} {cx - radius:.1f} {cy + k:.1f} {cx - radius:.1f} {cy:.1f} c "
            f"{cx - radius:.1f} {cy - k:.1f} {cx - k:.1f} {cy - radius:.1f} {cx:.1f} {cy - radius:.1f} c "
            f"{cx + k:.1f} {cy - radius:.1f} {cx + radius:.1f} {cy - k:.1f} {cx + radius:.1f} {cy:.1f} c s"
        )
    wave = " ".join(f"{x:.1f} {420 + 120 * math.sin(x / 40 + number):.1f} l" for x in range(40, 560, 4))
    ops.append(f"0 0 0.5 RG 2 w 36 420 m {wave} S")
    lines = [
        "BT /F1 18 Tf 50 790 Td",
        f"(Page {number}: {_text(rng.choice(WORDS).title())}) Tj",
        "/F1 10 Tf",
    ]
    for _ in range(40):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 13)))
        lines.append(f"0 -18 Td ({_text(words)}) Tj")
    lines.append("ET")
    ops.append("0 g " + " ".join(lines))
    return "\n".join(ops).encode()


def vector_pdf(path: Path, pages: int, seed: int) -> None:
    """A PDF of ``pages`` A4 pages of vector text and shapes (Helvetica, a standard font)."""
    rng = random.Random(seed)
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(1, pages + 1):
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, *A4],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(page_content(rng, number)),
        )
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path, deterministic_id=True, compress_streams=True)


def samples(pages: int, files: int) -> tuple[Path, list[Path]]:
    """One ``pages``-page PDF and ``files`` PDFs of 1 to 4 pages (cached in bench/.data)."""
    folder = DATA / "pdf"
    folder.mkdir(parents=True, exist_ok=True)
    big = folder / f"vector-{pages}pages.pdf"
    if not big.exists():
        vector_pdf(big, pages, 0)
    small = [folder / f"part-{i:03d}.pdf" for i in range(files)]
    for i, path in enumerate(small):
        if not path.exists():
            vector_pdf(path, 1 + i % 4, 100 + i)
    return big, small


def scans(files: int) -> list[Path]:
    """``files`` one-page PDFs, each an A4 photo-like JPEG at 150 dpi embedded by img2pdf."""
    folder = DATA / "pdf-scans"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"scan-{i:03d}.pdf" for i in range(files)]
    for i, path in enumerate(paths):
        if path.exists():
            continue
        rng = random.Random(i)
        small = Image.new("RGB", (12, 17))
        small.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(12 * 17)])
        image = small.resize((1240, 1754), Image.Resampling.BICUBIC)
        image = Image.blend(image, Image.effect_noise(image.size, 20).convert("RGB"), 0.15)
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=85)
        path.write_bytes(img2pdf.convert(jpeg.getvalue()))
    return paths


def pdfium_loop(source: Path, out: Path) -> None:
    """What conversio's rasteriser does per page, called directly (same render and JPEG settings)."""
    document = pdfium.PdfDocument(source)
    try:
        document.init_forms()
        for index in range(len(document)):
            page = document[index]
            bitmap = page.render(scale=DPI / 72, may_draw_forms=True)
            image = bitmap.to_pil()
            if image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            image.save(out / f"page{index + 1:03d}.jpg", "JPEG", quality=QUALITY, dpi=(DPI, DPI))
            bitmap.close()
            page.close()
    finally:
        document.close()


def pikepdf_merge_encrypt(sources: list[Path], out: Path, two_saves: bool) -> None:
    """Merge then encrypt (AES-256, R6): in one save, or saved merged then reopened and encrypted."""
    pdfs = [pikepdf.open(path) for path in sources]
    try:
        merged = pikepdf.new()
        for pdf in pdfs:
            merged.add_pages_from(pdf)
        encryption = pikepdf.Encryption(user="x", owner="x", R=6, aes=True)
        if two_saves:
            merged.save(out / "merged.pdf")
            with pikepdf.open(out / "merged.pdf") as again:
                again.save(out / "encrypted.pdf", encryption=encryption)
        else:
            merged.save(out / "encrypted.pdf", encryption=encryption)
        merged.close()
    finally:
        for pdf in pdfs:
            pdf.close()


def qpdf_merge_encrypt(sources: list[Path], out: Path) -> None:
    merged = out / "merged.pdf"
    subprocess.run(["qpdf", "--empty", "--pages", *map(str, sources), "--", str(merged)], check=True)
    subprocess.run(
        ["qpdf", "--encrypt", "x", "x", "256", "--", str(merged), str(out / "out.pdf")], check=True
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    big, small = samples(args.pages, args.files)
    scanned = scans(args.files)
    has_pdftoppm = shutil.which("pdftoppm") is not None
    has_qpdf = shutil.which("qpdf") is not None
    for tool, package, present in (("pdftoppm", "poppler-utils", has_pdftoppm), ("qpdf", "qpdf", has_qpdf)):
        if not present:
            print(f"{tool} not found; its row is skipped. To get it: apt-get install {package}")
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-pdf-"))
    app = conversio.Conversio(store=(work / "store").as_uri() + "?durable=0", cache=False)

    def fresh(name: str) -> Path:
        folder = work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return folder

    def merge_encrypt(sources: list[Path]) -> conversio.Result:
        return app.convert(sources, to="pdf").then("merge").then("encrypt", user_password="x").run()

    def merge_runs(sources: list[Path]) -> dict[str, Callable[[], object]]:
        runs: dict[str, Callable[[], object]] = {
            "conversio": lambda: merge_encrypt(sources),
            "pikepdf": lambda: pikepdf_merge_encrypt(sources, fresh("pikepdf"), two_saves=False),
            "pikepdf-2": lambda: pikepdf_merge_encrypt(sources, fresh("pikepdf2"), two_saves=True),
        }
        if has_qpdf:
            runs["qpdf"] = lambda: qpdf_merge_encrypt(sources, fresh("qpdf"))
        return runs

    try:
        # warm up: both workers started, pypdfium2 and pikepdf imported in them; results checked
        rendered = app.convert(small[:2], to="jpg", options={"dpi": DPI}).run()
        assert all(artifact.format == "jpg" for artifact in rendered.artifacts)
        result = merge_encrypt(small)
        with pikepdf.open(io.BytesIO(result.read_bytes()), password="x") as check:
            assert check.is_encrypted and len(check.pages) == sum(1 + i % 4 for i in range(len(small)))

        raster: dict[str, Callable[[], object]] = {
            "conversio": lambda: app.convert(big, to="jpg", options={"dpi": DPI}).run(),
            "pdfium": lambda: pdfium_loop(big, fresh("pdfium")),
        }
        if has_pdftoppm:
            raster["pdftoppm"] = lambda: subprocess.run(
                [
                    "pdftoppm",
                    "-jpeg",
                    "-jpegopt",
                    f"quality={QUALITY}",
                    "-r",
                    str(DPI),
                    str(big),
                    str(fresh("pdftoppm") / "page"),
                ],
                check=True,
            )
        raster_times = median_of(raster, args.rounds)
        merge_times = median_of(merge_runs(small), args.rounds)
        scan_times = median_of(merge_runs(scanned), args.rounds)
    finally:
        app.close()
        shutil.rmtree(work, ignore_errors=True)

    def row(label: str, times: dict[str, float], key: str, goal: str) -> list[str]:
        if key not in times:
            return [label, "skipped (not installed)", "—", goal]
        return [label, f"{times[key]:.3f}", f"{times['conversio'] / times[key]:.2f}×", goal]

    pages = args.pages
    rows = [
        row(f"{pages}-page PDF → JPEG: conversio", raster_times, "conversio", "—"),
        row(f"{pages}-page PDF → JPEG: pypdfium2 loop", raster_times, "pdfium", "≤ 1.10×"),
        row(f"{pages}-page PDF → JPEG: `pdftoppm -jpeg -r {DPI}`", raster_times, "pdftoppm", "< 1.00×"),
    ]
    size = sum(path.stat().st_size for path in scanned) / 1e6
    for label, times in (("vector", merge_times), (f"scans, {size:.0f} MB", scan_times)):
        rows += [
            row(f"merge {len(small)} PDFs ({label}) + encrypt: conversio", times, "conversio", "—"),
            row(f"… ({label}): pikepdf, one save", times, "pikepdf", "≤ 1.10×"),
            row(f"… ({label}): pikepdf, merged saved then encrypted", times, "pikepdf-2", "—"),
            row(f"… ({label}): `qpdf --empty --pages`, `qpdf --encrypt`", times, "qpdf", "—"),
        ]
    total_pages = sum(1 + i % 4 for i in range(len(small)))
    write_report(
        "pdf",
        f"PDF → JPEG at {DPI} dpi ({pages} pages) and merge of {len(small)} PDFs + AES-256",
        ["run", "seconds (median)", "conversio time / this", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds. Generated vector PDFs (A4; 60 filled rectangles,",
            "60 stroked Bézier circles, a polyline and 40 lines of Helvetica text a page).",
            f"Rasterising: JPEG q{QUALITY} at {DPI} dpi everywhere. conversio renders all pages of one PDF",
            "in ONE worker (a 1→n converter is not split across workers), so it is serial like the",
            "other two; its run includes the pikepdf safety check, storing and hashing each page image.",
            f"Merging: (vector) the {len(small)} PDFs of 1–4 vector pages above ({total_pages} pages, "
            f"{sum(p.stat().st_size for p in small) / 1e6:.1f} MB);",
            f"(scans) {len(scanned)} one-page PDFs, each an A4 150-dpi JPEG embedded by img2pdf.",
            "conversio sniffs every input, stores them (hash + copy each, in a thread while the merge",
            "reads the callers' files), runs the merge and the encryption fused into one worker task",
            "(one open, one save) and stores the result (hashed as the worker writes it, then renamed",
            "in); the pikepdf rows show one save with encryption, and the merged PDF saved then",
            "encrypted; qpdf: two CLI calls.",
            f"conversio: {os.cpu_count()} worker processes, a filesystem store not synced to disk,",
            f"result cache off. The store and every tool's output are in {work.parent} "
            f"({filesystem_of(work.parent)}; the folder is TMPDIR's).",
        ],
    )


if __name__ == "__main__":
    main()
