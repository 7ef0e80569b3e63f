"""Every converter and operation, fed damaged and hostile PDFs kept under a store-like path:
an error names the user's file and says what is wrong, with no engine text, path or hash."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pdf_helpers import SPECS
from pdf_samples import (
    broken_stream,
    custom_security_handler,
    deep_nesting,
    locked,
    make_pdf,
    no_kids,
    reference_loop,
)

from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError
from conversio.limits import Limits

NAME = "report.pdf"
#: what an operation needs besides the file
NEEDS: dict[str, dict[str, Any]] = {
    "extract-pages": {"pages": "1"},
    "encrypt": {"user_password": "new"},
    "watermark": {"text": "DRAFT"},
    "metadata": {"title": "T"},
    "fill": {"data": '{"name": "Ada"}'},
}
FORBIDDEN = re.compile(
    r"pikepdf|qpdf|pdfium|pypdf|traceback|[0-9a-f]{64}|"
    r"PdfError|DataDecodingError|PasswordError|PdfiumError|PdfReadError|ValueError|RuntimeError|OSError|KeyError|TypeError",
    re.IGNORECASE,
)


def _truncated(path: Path) -> Path:
    whole = make_pdf(path.with_name("whole.pdf"), pages=3).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def _stub(path: Path) -> Path:
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<")
    return path


def _broken_xref(path: Path) -> Path:
    whole = make_pdf(path.with_name("whole.pdf"), pages=2).read_bytes()
    path.write_bytes(whole.replace(b"xref", b"xxxx").replace(b"startxref", b"startxxxx"))
    return path


def _encrypted(path: Path) -> Path:
    return locked(path, "s3cret", 6)


#: name → (maker, password given)
DAMAGED: dict[str, tuple[Callable[[Path], Path], str | None]] = {
    "truncated": (_truncated, None),
    "stub": (_stub, None),
    "broken-xref": (_broken_xref, None),
    "no-kids": (no_kids, None),
    "broken-stream": (broken_stream, None),
    "reference-loop": (reference_loop, None),
    "deep-nesting": (lambda p: deep_nesting(p, depth=5000), None),
    "encrypted": (_encrypted, None),
    "wrong-password": (_encrypted, "wrong"),
    "custom-handler": (custom_security_handler, "s3cret"),
}
CONVERTERS = sorted(spec_id for spec_id, spec in SPECS.items() if spec.source == "pdf")


def _stored(tmp_path: Path, make: Callable[[Path], Path]) -> Path:
    """The file as a server keeps it: under its content hash, far from its name."""
    made = make(_fresh(tmp_path / "made") / "made.pdf")
    digest = hashlib.sha256(made.read_bytes()).hexdigest()
    stored = _fresh(tmp_path / "server-store" / "blobs" / digest[:2]) / digest
    made.rename(stored)
    return stored


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("damage", list(DAMAGED))
@pytest.mark.parametrize("converter", CONVERTERS)
def test_messages_name_the_file_and_hide_the_engine(tmp_path: Path, damage: str, converter: str) -> None:
    make, password = DAMAGED[damage]
    stored = _stored(tmp_path, make)
    spec = SPECS[converter]
    options = dict(NEEDS.get(spec.operation or "", {}))
    if password:
        options["password"] = password
    request = ConversionRequest(
        inputs=(InputFile(stored, NAME, "pdf"),),
        output_dir=_fresh(tmp_path / "out"),
        source="pdf",
        target=spec.target,
        options=spec.options.validate(options),
        limits=Limits(max_pages=100),
    )
    try:
        spec.load()(request)
    except ConversioError as error:
        text = f"{error.message} {error.details}"
        assert NAME in error.message, error.to_dict()
        assert str(tmp_path) not in text and "server-store" not in text
        assert not FORBIDDEN.search(text), error.to_dict()
        assert error.code != "CONVERSION_FAILED", error.to_dict()
    for warning in request.warnings:
        assert NAME in warning and str(tmp_path) not in warning and not FORBIDDEN.search(warning)
