"""PDF → DOCX: how much of a document comes back editable, by pdf2docx and by LibreOffice's PDF import.

    python -m bench.bench_pdf2docx [--no-corpus]

The question this answers is which engine conversio-pdf2docx should use (issue 21). Each PDF
goes through: conversio (pdf2docx, its default settings: ruled tables only), pdf2docx called
directly with its own defaults (borderless "stream" tables on), and
``soffice --infilter=writer_pdf_import --convert-to docx`` in a private profile. For each result:
the share of the reference words kept in the same order (difflib over word sequences), the
tables (rows x columns), the pictures, the share of words that sit in positioned text frames
instead of the document's flow, wall-clock seconds and the peak memory of the engine process.

The references: Word documents made with python-docx and printed to PDF by conversio
(LibreOffice), compared with their own words; PDFs of the shared corpus, compared with
their text layer (PDFium).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import docx  # type: ignore[import-untyped]
import pypdfium2 as pdfium  # type: ignore[import-untyped]

import conversio
from bench.common import write_report
from conversio.errors import ConversioError
from conversio.testing.corpus import corpus_dir
from tests.test_pdf_to_docx_round_trip import kept_in_order, sentence, words
from tests.test_pdf_to_docx_round_trip import write_report as write_round_trip_docx

CORPUS = (
    "minimal-document",
    "pdflatex-4-pages",
    "google-doc-document",
    "pdf20-utf8-test",
    "habibi",
    "testPDF_rotated",
    "GeoTopo-komprimiert",
)
#: Runs ``argv`` in a session of its own (killed whole after 300 s: soffice.bin is a grandchild)
#: and prints the peak resident memory (KiB) of it and its descendants.
_PEAK = """
import os, resource, signal, subprocess, sys
quiet = subprocess.DEVNULL
child = subprocess.Popen(sys.argv[1:], stdout=quiet, stderr=quiet, start_new_session=True)
try:
    child.wait(timeout=300)
except subprocess.TimeoutExpired:
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    sys.exit(1)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
_PDF2DOCX = (
    "import sys; from pdf2docx import Converter; c = Converter(sys.argv[1]); "
    "c.convert(sys.argv[2], multi_processing=False); c.close()"
)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def prose(path: Path) -> Path:
    """A letter: a title and twelve long paragraphs."""
    document = docx.Document()
    document.add_heading("A letter", 0)
    for seed in range(12):
        document.add_paragraph(sentence(100 + seed, 45))
    document.save(str(path))
    return path


def columns(path: Path) -> Path:
    """A 4 x 3 table without borders between two paragraphs."""
    document = docx.Document()
    document.add_paragraph(sentence(200, 20))
    table = document.add_table(rows=4, cols=3)
    for row in range(4):
        for column in range(3):
            table.cell(row, column).text = f"d{row}{column} {sentence(row * 3 + column, 1)[:-1]}"
    document.add_paragraph(sentence(201, 20))
    document.save(str(path))
    return path


def pdf_words(path: Path) -> list[str]:
    document = pdfium.PdfDocument(path)
    try:
        text = " ".join(page.get_textpage().get_text_bounded() for page in document)
    finally:
        document.close()
    return re.findall(r"\w+", text.lower())


def described(path: Path, reference: list[str]) -> list[str]:
    """Words kept in order, tables, pictures and the share of words in text frames of a docx."""
    document = docx.Document(str(path))
    found = words(path)
    framed = sum(
        len(re.findall(r"\w+", node.text or ""))
        for box in document.element.body.iter(f"{_W}txbxContent")
        for node in box.iter(f"{_W}t")
    )
    with zipfile.ZipFile(path) as archive:
        pictures = len([name for name in archive.namelist() if name.startswith("word/media/")])
    tables = " ".join(f"{len(t.rows)}x{len(t.columns)}" for t in document.tables) or "none"
    if len(document.tables) > 6:
        tables = f"{len(document.tables)} tables"
    return [
        f"{kept_in_order(reference, found):.1%}",
        tables,
        str(pictures),
        f"{framed / max(len(found), 1):.0%}",
    ]


def peak(argv: list[str]) -> tuple[float, int]:
    """Seconds and peak memory (MiB) of ``argv``."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *argv], capture_output=True, text=True, check=True)
    return time.perf_counter() - start, int(done.stdout.split()[-1]) // 1024


def engines(app: conversio.Conversio, pdf: Path, folder: Path, reference: list[str]) -> list[list[str]]:
    """One row per engine for ``pdf``."""
    rows = []
    start = time.perf_counter()
    try:
        [out] = app.convert(pdf, to="docx").save(folder / "conversio.docx")
        rows.append(
            ["conversio (pdf2docx)", *described(out, reference), f"{time.perf_counter() - start:.2f}", "—"]
        )
    except ConversioError as error:
        rows.append(
            [
                "conversio (pdf2docx)",
                f"refused: {error.code}",
                "",
                "",
                "",
                f"{time.perf_counter() - start:.2f}",
                "—",
            ]
        )
    seconds, mib = peak([sys.executable, "-c", _PDF2DOCX, str(pdf), str(folder / "direct.docx")])
    rows.append(
        ["pdf2docx, its defaults", *described(folder / "direct.docx", reference), f"{seconds:.2f}", str(mib)]
    )
    profile = (folder / "profile").as_uri()
    lo_argv = [
        "soffice",
        f"-env:UserInstallation={profile}",
        "--headless",
        "--infilter=writer_pdf_import",
        "--convert-to",
        "docx:MS Word 2007 XML",
        "--outdir",
        str(folder / "lo"),
        str(pdf),
    ]
    try:
        seconds, mib = peak(lo_argv)
        result = folder / "lo" / f"{pdf.stem}.docx"
        rows.append(["LibreOffice PDF import", *described(result, reference), f"{seconds:.2f}", str(mib)])
    except subprocess.CalledProcessError:
        rows.append(["LibreOffice PDF import", "gave up (300 s)", "", "", "", "", ""])
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-corpus", action="store_true", help="only the generated documents")
    args = parser.parse_args(argv)
    rows: list[list[str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-pdf2docx-") as tmp,
        conversio.Conversio(store=(Path(tmp) / "store").as_uri(), workers=1, cache=False) as app,
    ):
        folder = Path(tmp)
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                "--headless",
                "--terminate_after_init",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        inputs: list[tuple[str, Path, list[str]]] = []
        for name, make in (("report", write_round_trip_docx), ("letter", prose), ("columns", columns)):
            original = make(folder / f"{name}.docx")
            [pdf] = app.convert(original, to="pdf").save(folder / f"{name}.pdf")
            inputs.append((f"{name}.docx → pdf", pdf, words(original)))
        root = corpus_dir()
        for name in () if args.no_corpus or root is None else CORPUS:
            pdf = root / "pdf" / f"{name}.pdf"
            inputs.append((f"corpus {name}.pdf", pdf, pdf_words(pdf)))
        for label, pdf, reference in inputs:
            work = folder / label.replace(" ", "_")
            work.mkdir()
            rows += [[label, *row] for row in engines(app, pdf, work, reference)]
            print(json.dumps(rows[-3:]), flush=True)
    write_report(
        "pdf2docx",
        "PDF → DOCX: conversio (pdf2docx) and LibreOffice's PDF import",
        [
            "input",
            "engine",
            "words kept in order",
            "tables",
            "pictures",
            "words in text frames",
            "seconds",
            "peak MiB",
        ],
        rows,
        [
            "Words kept in order: difflib's matching blocks over the reference word sequence (the source",
            "docx's words, or the PDF's text layer read by PDFium). Tables: rows x columns of each table",
            "of the result; the sources: report 3x4, 5x2, 2x6 (ruled), columns 4x3 (no borders).",
            "Words in text frames: positioned boxes (one per line in LibreOffice's import), not the flow",
            "of the document. Peak MiB: the engine process and its children (not measured inside",
            "conversio, whose engine runs in a child of a worker).",
        ],
    )


if __name__ == "__main__":
    main(sys.argv[1:])
