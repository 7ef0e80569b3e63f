"""Scripts without embedded fonts are drawn with the Noto fonts the set-up installs, not as boxes.

Each document names a font that is not installed (as documents from Word do), so LibreOffice
must fall back; the PDF's fonts must be Noto families and the page must carry ink where the text
is (a missing font gives blank pages; a .notdef fallback gives empty boxes and no Noto font).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from office_samples import _write_odf
from pdftext import convert, font_names, ink, pdf_text

import conversio

#: Text of each script, and the font families that have its glyphs (DejaVu Sans, installed
#: before, covers Arabic and Hebrew; Devanagari and Japanese need Noto).
SAMPLES = {
    "arabic": ("مرحبا بالعالم", ("Noto", "DejaVu")),
    "hebrew": ("שלום עולם", ("Noto", "DejaVu")),
    "devanagari": ("नमस्ते दुनिया", ("Noto",)),
}
JAPANESE = "日本語の文書です"


def _rtf(text: str) -> bytes:
    escaped = "".join(f"\\u{ord(c) if ord(c) < 32768 else ord(c) - 65536}?" for c in text)
    return (
        r"{\rtf1\ansi\deff0{\fonttbl{\f0\fnil\fcharset128 MS Mincho;}}\f0\fs48 " + escaped + r"\par}"
    ).encode("ascii")


def _odt(path: Path, text: str) -> Path:
    styles = (
        '<style:style style:name="P1" style:family="paragraph"><style:text-properties '
        'style:font-name="Traditional Arabic" fo:font-size="24pt" style:font-size-complex="24pt" '
        'style:font-name-complex="Traditional Arabic" style:font-name-asian="Mangal"/></style:style>'
    )
    body = f'<office:text><text:p text:style-name="P1">{text}</text:p></office:text>'
    return _write_odf(path, "application/vnd.oasis.opendocument.text", body, styles)


def _check(pdf: bytes, text: str, families: tuple[str, ...]) -> None:
    fonts = font_names(pdf)
    assert any(f in name for f in families for name in fonts), fonts
    assert text.replace(" ", "") in pdf_text(pdf).replace(" ", "").replace("\n", "")
    assert ink(pdf) > 200


def test_japanese_rtf_is_drawn_with_noto_cjk(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "memo.rtf"
    source.write_bytes(_rtf(JAPANESE))
    _check(convert(app, source), JAPANESE, ("Noto",))
    assert any("CJK" in name for name in font_names(convert(app, source)))


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_complex_scripts_are_drawn_with_noto(app: conversio.Conversio, tmp_path: Path, script: str) -> None:
    text, families = SAMPLES[script]
    _check(convert(app, _odt(tmp_path / f"{script}.odt", text)), text, families)
