"""PDF/A that keeps what the input had: pikepdf's writer when its validator approves (tags, links and
content untouched), else Ghostscript with the orientation kept and links made printable; what cannot
be kept is a warning, a blank page is a refusal; accessibility is not claimed for existing PDFs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from conversio_pdf.pdfa_check import pdfa_problems, shown_sizes
from PIL import Image

import conversio
from conversio.converters import Output
from conversio.errors import ConversioError
from conversio.testing import corpus_dir, make_conversio

Run = Callable[..., list[Output]]
PDFA = "pdf.ghostscript:pdfa(pdf)"
pytestmark = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript is not installed")


def _annotation(pdf: pikepdf.Pdf, subtype: str, **values: object) -> pikepdf.Dictionary:
    rect = pikepdf.Array([72, 700, 300, 730])
    made = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name(subtype), Rect=rect)
    )
    for key, value in values.items():
        made[f"/{key}"] = value
    return made


def _link(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    """A link without flags (PDF/A wants it printable)."""
    action = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://example.org/"))
    return _annotation(pdf, "/Link", A=action)


def _producer(path: Path) -> str:
    with pikepdf.open(path) as pdf:
        return str(pdf.docinfo.get("/Producer", ""))


def test_a_tagged_picture_keeps_its_tags_and_link(run: Run, tmp_path: Path) -> None:
    """pikepdf's writer approves it: the structure tree and the link stay, nothing is redrawn."""
    Image.new("RGB", (200, 100), (200, 30, 30)).save(tmp_path / "tagged.pdf", resolution=72)
    with pikepdf.open(tmp_path / "tagged.pdf", allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        figure = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.StructElem, S=pikepdf.Name.Figure, Alt="a red box", Pg=page.obj
            )
        )
        tree = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=figure))
        figure.P = tree
        pdf.Root.StructTreeRoot, pdf.Root.MarkInfo = tree, pikepdf.Dictionary(Marked=True)
        page.obj.Annots = pikepdf.Array([_link(pdf)])
        pdf.save()
    warnings: list[str] = []
    [out] = run(PDFA, tmp_path / "tagged.pdf", warnings=warnings)
    assert warnings == []
    assert "Ghostscript" not in _producer(out.path)
    with pikepdf.open(out.path) as pdf:
        assert pdfa_problems(pdf, "2b", [(200.0, 100.0)]) == []
        assert str(pdf.Root.StructTreeRoot.K.Alt) == "a red box"
        [link] = pdf.pages[0].Annots
        assert str(link.A.URI) == "https://example.org/" and int(link.F) & 4  # printable


def test_ghostscript_keeps_orientation_links_and_drops_undrawn_notes(run: Run, three_pages: Path) -> None:
    """Unembedded Helvetica: Ghostscript's turn. A turned page stays turned (Ghostscript would
    guess from the text), the link stays, a note without an appearance and a hidden one go."""
    with pikepdf.open(three_pages, allow_overwriting_input=True) as pdf:
        pdf.pages[1].obj.Rotate = 90
        note = _annotation(pdf, "/Text", Contents=pikepdf.String("check"))
        hidden = _annotation(pdf, "/Square", F=2)
        pdf.pages[0].obj.Annots = pikepdf.Array([_link(pdf), note, hidden])
        sizes = shown_sizes(pdf)
        pdf.save()
    assert sizes[1] == (842.0, 595.0)
    warnings: list[str] = []
    [out] = run(PDFA, three_pages, warnings=warnings)
    assert warnings == ["three.pdf: 2 hidden or undrawn annotation(s) are not kept in the PDF/A"]
    assert "Ghostscript" in _producer(out.path)
    with pikepdf.open(out.path) as pdf:
        assert shown_sizes(pdf) == sizes
        assert [str(a.Subtype) for a in pdf.pages[0].Annots] == ["/Link"]


def test_the_check_refuses_a_turned_or_resized_page(three_pages: Path) -> None:
    with pikepdf.open(three_pages) as pdf:
        assert pdfa_problems(pdf, "2b", [(595.0, 842.0), (842.0, 595.0), (612.0, 792.0)])[-1] == (
            "the size or orientation of page 2, 3 changed"
        )


def test_an_undrawn_annotation_fails_the_check(three_pages: Path) -> None:
    with pikepdf.open(three_pages) as pdf:
        pdf.pages[0].obj.Annots = pikepdf.Array([_annotation(pdf, "/Text", F=4)])
        assert "1 annotation is hidden, not printable or not drawn" in pdfa_problems(
            pdf, "1b", shown_sizes(pdf)
        )


@pytest.mark.parametrize(
    ("step", "options", "code"),
    [("pdfa", {"level": "2a"}, "INVALID_OPTION"), ("pdfua", {}, "INVALID_REQUEST")],
)
def test_accessibility_of_an_existing_pdf_is_refused(
    three_pages: Path, step: str, options: dict[str, str], code: str
) -> None:
    """PDF/A level a and PDF/UA need tags an untagged PDF lacks: refused, never claimed."""
    app: conversio.Conversio = make_conversio("conversio_pdf.plugin", cache=False)
    try:
        with pytest.raises(ConversioError) as caught:
            app.convert(three_pages, to="pdf").then(step, **options).run()
    finally:
        app.close()
    assert caught.value.code == code


CORPUS = corpus_dir()


@pytest.mark.corpus
@pytest.mark.skipif(CORPUS is None, reason="the shared corpus is not here")
def test_a_file_ghostscript_cannot_read_is_refused_not_blanked(run: Run) -> None:
    """Ghostscript 10.0 reads none of this CMYK photo's pages and used to write one blank page."""
    assert CORPUS is not None
    with pytest.raises(ConversioError) as caught:
        run(PDFA, CORPUS / "pdf" / "cmyk-image.pdf")
    assert caught.value.code == "CONVERSION_FAILED"
    assert "cmyk-image.pdf could not be made PDF/A" in str(caught.value)


@pytest.mark.corpus
@pytest.mark.skipif(CORPUS is None, reason="the shared corpus is not here")
def test_text_that_extracts_differently_is_a_warning(run: Run) -> None:
    """Ghostscript rewrites the Arabic font's text map: the page looks the same, its text does not."""
    assert CORPUS is not None
    warnings: list[str] = []
    run(PDFA, CORPUS / "pdf" / "habibi.pdf", warnings=warnings)
    assert warnings == [
        "habibi.pdf: the text of page 1 extracts differently from the original "
        "(searching and copying it may not work as before)"
    ]
