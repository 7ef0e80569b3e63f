"""Every way OCR can fail reaches the user as a coded error naming their file, nothing else."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pikepdf
import pytest
from conversio_ocr.failures import failure
from conversio_ocr.languages import installed_languages
from ocr_helpers import OCR, text_converter
from ocr_samples import ENGLISH, image_pdf, png_bytes, render, text_pdf
from PIL import Image

from conversio.converters import Output
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    InvalidOption,
    InvalidPassword,
    MissingDependency,
    Timeout,
)
from conversio.limits import Limits
from conversio.testing.processes import descendants

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-page scan (1950 × 1200 pixels)."""
    return image_pdf(
        tmp_path_factory.mktemp("scan") / "scan.pdf", [render(ENGLISH[:2], "DejaVu Sans", 12, 300)]
    )


def refused(call: Callable[[], object], error: type[ConversioError], *words: str) -> ConversioError:
    """The error ``call`` raises, checked: its type, the ``words`` its message holds, and no
    path, traceback or engine name in it."""
    with pytest.raises(error) as caught:
        call()
    message = caught.value.message
    for word in words:
        assert word in message, message
    for leak in ("/tmp", "Traceback", "ocrmypdf", "qpdf", "--"):
        assert leak not in message, message
    return caught.value


def test_an_encrypted_pdf_is_refused_with_how_to_decrypt_it(
    scan: Path, run: Callable[..., Output], tmp_path: Path
) -> None:
    for user in ("secret", ""):  # an open password, or only an owner password (permissions)
        locked = tmp_path / f"locked{user}.pdf"
        with pikepdf.open(scan) as pdf:
            pdf.save(locked, encryption=pikepdf.Encryption(owner="owner", user=user))
        refused(partial(run, OCR, locked), InvalidPassword, f"{locked.name} is encrypted", "decrypt")


def test_a_signed_pdf_is_refused_but_its_text_can_be_read(
    scan: Path, run: Callable[..., Output], tmp_path: Path
) -> None:
    signed = tmp_path / "signed.pdf"
    with pikepdf.open(scan) as pdf:
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(), SigFlags=3)
        pdf.save(signed)
    error = refused(
        lambda: run(OCR, signed), ConversionFailed, "signed.pdf is digitally signed", "invalidate"
    )
    assert error.details["final"] is True
    assert "Invoices" in run(text_converter("pdf"), signed).path.read_text("utf-8")


def test_a_fillable_form_cannot_be_redone(run: Callable[..., Output], tmp_path: Path) -> None:
    form = text_pdf(tmp_path / "form.pdf", ["Name:"])
    with pikepdf.open(form, allow_overwriting_input=True) as pdf:
        field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Tx, T="name"))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
        pdf.save(form)
    refused(lambda: run(OCR, form, mode="redo"), InvalidOption, "form.pdf has a fillable form", "'force'")


def test_an_xfa_form_only_adobe_draws_is_refused(run: Callable[..., Output], tmp_path: Path) -> None:
    xfa = tmp_path / "xfa.pdf"
    text_pdf(xfa, ["Please wait..."])
    with pikepdf.open(xfa, allow_overwriting_input=True) as pdf:
        pdf.Root.NeedsRendering = True
        pdf.save(xfa)
    refused(lambda: run(OCR, xfa), ConversionFailed, "xfa.pdf is a dynamic form (XFA)")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> garbage", CorruptFile),
        (b"", CorruptFile),
    ],
)
def test_a_damaged_pdf_is_corrupt(
    content: bytes, error: type[ConversioError], run: Callable[..., Output], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(content)
    refused(lambda: run(OCR, broken), error, "broken.pdf is damaged")


def test_a_pdf_without_pages_is_empty(run: Callable[..., Output], tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    pikepdf.new().save(empty)
    refused(lambda: run(text_converter("pdf"), empty), EmptyFile, "empty.pdf has no pages")


def test_a_truncated_image_is_corrupt(run: Callable[..., Output], tmp_path: Path) -> None:
    cut = tmp_path / "cut.png"
    cut.write_bytes(png_bytes(render(ENGLISH, "DejaVu Sans", 10, 200))[:3000])
    refused(lambda: run(text_converter("png"), cut), CorruptFile, "cut.png is damaged")


def test_too_many_pixels_or_pages_are_too_large(
    scan: Path, run: Callable[..., Output], tmp_path: Path
) -> None:
    image = tmp_path / "big.png"
    image.write_bytes(png_bytes(Image.new("1", (20_000, 20_000), 1)))  # 400 megapixels, 50 kB
    refused(lambda: run(text_converter("png"), image), FileTooLarge, "big.png is too large")
    small = Limits(max_pixels=1_000_000)
    refused(lambda: run(OCR, scan, limits=small), FileTooLarge, "scan.pdf holds an image too large")
    refused(lambda: run(OCR, scan, limits=Limits(max_pages=0)), FileTooLarge, "scan.pdf has 1 pages")


def test_a_huge_empty_page_is_too_large_not_a_hang(run: Callable[..., Output], tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(14_400, 14_400))  # 200 × 200 inches, the most PDF allows
    page.obj.Contents = pdf.make_stream(b"0 0 m 14400 14400 l S")
    pdf.save(huge)
    refused(lambda: run(OCR, huge), FileTooLarge, "huge.pdf")


def test_a_blank_image_has_no_text(run: Callable[..., Output], tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    Image.new("L", (600, 400), 255).save(blank, dpi=(200, 200))
    error = refused(
        lambda: run(text_converter("png"), blank), ConversionFailed, "no text was found in blank.png"
    )
    assert error.details["final"] is True


def test_a_step_past_its_time_limit_is_stopped_with_its_processes(
    scan: Path, run: Callable[..., Output]
) -> None:
    refused(
        lambda: run(OCR, scan, limits=Limits(timeout=0.5)), Timeout, "OCR of scan.pdf took longer than 0.5 s"
    )
    assert descendants(os.getpid()) == {}


@pytest.fixture
def only_tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A PATH with Tesseract and nothing else (no unpaper, no Ghostscript)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "tesseract").symlink_to(Path("/usr/bin/tesseract"))
    monkeypatch.setenv("PATH", str(folder))
    yield


def test_clean_without_unpaper_names_it(scan: Path, run: Callable[..., Output], only_tesseract: None) -> None:
    error = refused(lambda: run(OCR, scan, clean=True), MissingDependency, "needs unpaper", "apt-get install")
    assert error.details["module"] == "unpaper"


def test_without_tesseract_the_hint_says_what_to_install(
    scan: Path, run: Callable[..., Output], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    installed_languages.cache_clear()
    try:
        refused(lambda: run(OCR, scan), MissingDependency, "Tesseract is not installed", "tesseract-ocr-eng")
    finally:
        installed_languages.cache_clear()


@pytest.mark.parametrize(
    ("returncode", "log", "error", "words"),
    [
        (-9, "", ConversionFailed, "stopped unexpectedly (signal 9)"),
        (15, "MemoryError\n  File /srv/x.py", FileTooLarge, "needs more memory"),
        (
            15,
            "Traceback (most recent call last):\n  File /srv/x.py",
            ConversionFailed,
            "could not process it",
        ),
        (7, "SubprocessOutputError: tesseract", ConversionFailed, "Tesseract or unpaper failed"),
        (8, "EncryptedPdfError", InvalidPassword, "is encrypted"),
        (3, "MissingDependencyError: tesseract", MissingDependency, "Tesseract"),
        (3, "Could not find program 'pngquant' on the PATH", MissingDependency, "needs pngquant"),
    ],
)
def test_the_engine_s_failures_speak_the_user_s_terms(
    returncode: int, log: str, error: type[ConversioError], words: str
) -> None:
    raised = failure("OCR of", "a.pdf", returncode, log, {"clean": False, "optimize": 3})
    assert type(raised) is error and words in raised.message and "/srv" not in raised.message
