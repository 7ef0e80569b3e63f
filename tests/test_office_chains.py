"""Issue 3 end to end: Word, Excel and PowerPoint through LibreOffice, PDF tools and archives."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

import conversio
from conversio.events import Event, EventKind

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
Cli = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/soffice").exists(),
    reason="LibreOffice is not installed (scripts/bootstrap.sh installs it)",
)


def pages_of(path: Path, password: str = "") -> int:
    with pikepdf.open(path, password=password) as pdf:
        return len(pdf.pages)


def test_docx_to_zip_via_jpg_one_jpeg_per_page(run_cli: Cli, tmp_path: Path) -> None:
    report = str(EXAMPLES / "report.docx")
    done = run_cli(
        "convert", report, "--to", "zip", "--via", "jpg", "-O", "dpi=72", "-o", "pages.zip", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "office.libreoffice:docx->pdf" in done.stdout and "pdf.pdfium:pdf->jpg" in done.stdout
    with zipfile.ZipFile(tmp_path / "pages.zip") as zf:
        assert zf.namelist() == ["report-page001.jpg", "report-page002.jpg", "report-page003.jpg"]
        for name in zf.namelist():
            with zf.open(name) as member, Image.open(member) as img:
                assert img.format == "JPEG"
                assert abs(img.width - 595) <= 1 and abs(img.height - 842) <= 1  # A4 at 72 dpi


def test_word_excel_powerpoint_merged_and_encrypted(
    app: conversio.Conversio, run_cli: Cli, tmp_path: Path
) -> None:
    app.convert(EXAMPLES / "figures.csv", to="xlsx").save(tmp_path / "b.xlsx")
    app.convert(EXAMPLES / "slides.odp", to="pptx").save(tmp_path / "c.pptx")
    (tmp_path / "a.docx").write_bytes((EXAMPLES / "report.docx").read_bytes())
    expected = 0
    for name in ("a.docx", "b.xlsx", "c.pptx"):
        [pdf] = app.convert(tmp_path / name, to="pdf").save(tmp_path / f"{name}.pdf")
        expected += pages_of(pdf)
    assert expected == 3 + 1 + 3
    then = ("--then", "merge", "--then", "encrypt:user_password=secret")
    done = run_cli(
        "convert", "a.docx", "b.xlsx", "c.pptx", "--to", "pdf", *then, "-o", "out.pdf", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(tmp_path / "out.pdf")
    assert pages_of(tmp_path / "out.pdf", password="secret") == expected


def test_a_failed_chain_resumes_from_the_stored_pdf(app: conversio.Conversio, tmp_path: Path) -> None:
    report = EXAMPLES / "report.docx"
    chain = app.convert(report, to="pdf").then("encrypt", user_password="secret", permissions="bogus")
    with pytest.raises(conversio.ConversioError) as failed:
        chain.run()
    assert failed.value.code == "INVALID_OPTION"
    events: list[Event] = []
    fixed = app.convert(report, to="pdf").then("encrypt", user_password="secret").run(on_event=events.append)
    cached = [e.converter for e in events if e.kind is EventKind.STEP_CACHED]
    ran = [e.converter for e in events if e.kind is EventKind.PROGRESS and e.fraction == 1.0]
    assert cached == ["office.libreoffice:docx->pdf"]  # the document was not converted again
    assert "office.libreoffice:docx->pdf" not in ran
    with fixed.open() as fh:
        out = tmp_path / "locked.pdf"
        out.write_bytes(fh.read())
    assert pages_of(out, password="secret") == 3
