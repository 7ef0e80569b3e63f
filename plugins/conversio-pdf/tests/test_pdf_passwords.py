"""Passwords as users type them: SASLprep for AES-256 (PDF 2.0), PDFDocEncoding for R2-R4,
and a security scheme no password opens is UNSUPPORTED_ENCRYPTION."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pikepdf
import pytest
from conversio_pdf.passwords import candidates, saslprep
from pdf_samples import custom_security_handler, locked

from conversio.converters import Output
from conversio.errors import ConversioError

Run = Callable[..., list[Output]]
Revision = Literal[3, 4, 6]

SOFT_HYPHEN, NO_BREAK_SPACE, FI = "\u00ad", "\u00a0", "\ufb01"


@pytest.mark.parametrize(
    ("typed", "prepared"),
    [
        (f"pass{SOFT_HYPHEN}word", "password"),  # RFC 4013: mapped to nothing
        (f"{FI}le", "file"),  # NFKC
        (f"my{NO_BREAK_SPACE}secret", "my secret"),  # non-ASCII space → space
        ("Ⅸ", "IX"),  # compatibility character
        ("caf\u0065\u0301", "café"),  # composed
        ("user", "user"),
    ],
)
def test_saslprep_maps_and_normalises(typed: str, prepared: str) -> None:
    assert saslprep(typed) == prepared


@pytest.mark.parametrize("bad", ["a\u0007b", "\u200eab", "\u05d0a", "a\ufffdb"])
def test_saslprep_refuses_prohibited_and_mixed_direction_text(bad: str) -> None:
    with pytest.raises(ValueError):
        saslprep(bad)


def test_candidates_are_raw_first_then_prepared_then_pdfdoc() -> None:
    assert candidates(None) == [b""]
    assert candidates(f"{FI}le") == [f"{FI}le".encode(), b"file", b"\x93le"]
    assert candidates("café") == ["café".encode(), b"caf\xe9"]


# (stored password, as typed by the user, revision): a conforming writer stores R6 passwords
# SASLprep'd; pikepdf writes R3/R4 ones in PDFDocEncoding ("ﬁ" is byte 0x93 there)
CASES: list[tuple[str, str, Revision]] = [
    ("password", f"pass{SOFT_HYPHEN}word", 6),
    ("file", f"{FI}le", 6),
    ("my secret", f"my{NO_BREAK_SPACE}secret", 6),
    (f"{FI}le", f"{FI}le", 6),  # a writer that did not prepare it: the raw form opens it
    ("café", "café", 4),
    (f"{FI}le", f"{FI}le", 3),
]
IDS = ["r6-soft-hyphen", "r6-ligature", "r6-nbsp", "r6-unprepared", "r4-latin1", "r3-pdfdoc-ligature"]


@pytest.mark.parametrize(("stored", "typed", "revision"), CASES, ids=IDS)
def test_decrypt_accepts_the_password_as_typed(
    run: Run, tmp_path: Path, stored: str, typed: str, revision: Revision
) -> None:
    source = locked(tmp_path / "locked.pdf", stored, revision)
    (out,) = run("pdf.pikepdf:decrypt(pdf)", source, password=typed)
    with pikepdf.open(out.path) as pdf:
        assert not pdf.is_encrypted and len(pdf.pages) == 2


@pytest.mark.parametrize(("stored", "typed", "revision"), CASES, ids=IDS)
def test_pages_render_and_read_with_the_password_as_typed(
    run: Run, tmp_path: Path, stored: str, typed: str, revision: Revision
) -> None:
    source = locked(tmp_path / "locked.pdf", stored, revision)
    (text,) = run("pdf.pdfium:pdf->txt", source, password=typed)
    assert text.path.read_text(encoding="utf-8").split("\f")[0].strip() == "Page 1 secret"
    assert len(run("pdf.pdfium:pdf->png", source, dpi=20, password=typed)) == 2


@pytest.mark.parametrize("revision", [3, 4, 6])
def test_a_wrong_password_is_still_wrong(run: Run, tmp_path: Path, revision: Revision) -> None:
    source = locked(tmp_path / "locked.pdf", "file", revision)
    for converter in ("pdf.pikepdf:decrypt(pdf)", "pdf.pdfium:pdf->txt"):
        with pytest.raises(ConversioError) as info:
            run(converter, source, password="fi1e")
        assert info.value.code == "INVALID_PASSWORD"
        assert info.value.message == "locked.pdf: the password is wrong; check it and try again"


def test_encrypt_stores_the_prepared_password(run: Run, tmp_path: Path) -> None:
    plain = locked(tmp_path / "x.pdf", "unused", 6).with_name("plain-x.pdf")
    (out,) = run("pdf.pikepdf:encrypt(pdf)", plain, user_password=f"{FI}le{SOFT_HYPHEN}")
    with pikepdf.open(out.path, password="file") as pdf:  # what any SASLprep reader derives
        assert pdf.is_encrypted and pdf.encryption.R == 6
    (again,) = run("pdf.pikepdf:decrypt(pdf)", out.path, password=f"{FI}le")
    with pikepdf.open(again.path) as pdf:
        assert not pdf.is_encrypted


def test_encrypt_refuses_a_password_saslprep_prohibits(run: Run, tmp_path: Path) -> None:
    plain = locked(tmp_path / "x.pdf", "unused", 6).with_name("plain-x.pdf")
    with pytest.raises(ConversioError) as info:
        run("pdf.pikepdf:encrypt(pdf)", plain, user_password="bell\u0007")
    assert info.value.code == "INVALID_OPTION" and info.value.details == {"option": "user_password"}


@pytest.mark.parametrize("handler", [b"/FOPN_foweb", b"/Adobe.PubSec"])
@pytest.mark.parametrize(
    "converter", ["pdf.pikepdf:decrypt(pdf)", "pdf.pdfium:pdf->png", "pdf.pdfium:pdf->txt"]
)
def test_an_unknown_security_handler_is_unsupported_encryption(
    run: Run, tmp_path: Path, handler: bytes, converter: str
) -> None:
    source = custom_security_handler(tmp_path / "drm.pdf", handler)
    for options in ({}, {"password": "s3cret"}):
        with pytest.raises(ConversioError) as info:
            run(converter, source, **options)
        assert info.value.code == "UNSUPPORTED_ENCRYPTION"
        assert info.value.message.startswith(
            "drm.pdf is protected by a security scheme conversio cannot open"
        )
