"""Pages printed to PDF by a real Chromium, read back with pdfium: paper, margins, pages, text."""

from __future__ import annotations

import pypdfium2
import pytest
from conftest import Convert, pdf_pages, pdf_pixel, refused

#: A4 in points. Chromium lays paper out in whole CSS pixels: sizes come within a point.
A4 = (595.3, 841.9)
#: Three pages, each with its own word.
THREE_PAGES = (
    "<html><head><title>Report</title><style>p{break-after:page}</style></head>"
    "<body><p>alpha</p><p>bravo</p><p style='break-after:auto'>charlie</p></body></html>"
)


def test_a4_by_default_with_the_page_text(convert: Convert) -> None:
    [(width, height, text)] = pdf_pages(convert("<h1>Hello, world</h1>", "pdf"))
    assert (width, height) == pytest.approx(A4, abs=1)
    assert "Hello, world" in text


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"paper": "letter", "landscape": True}, (792.0, 612.0)),
        ({"paper": "a5"}, (419.5, 595.3)),
        ({"paper_width": "100mm", "paper_height": "5cm"}, (283.5, 141.7)),
        ({"paper_width": "4", "paper_height": "288pt", "margin_top": "0"}, (288.0, 288.0)),
    ],
)
def test_paper_size_and_orientation(
    convert: Convert, options: dict[str, object], size: tuple[float, float]
) -> None:
    [(width, height, _text)] = pdf_pages(convert("<p>sized</p>", "pdf", **options))
    assert (width, height) == pytest.approx(size, abs=1)


def test_margins_move_the_text(convert: Convert) -> None:
    def left_of_text(**margins: str) -> float:
        document = pypdfium2.PdfDocument(convert("<p>margin</p>", "pdf", **margins))
        try:
            left, _bottom, _right, _top = document[0].get_textpage().get_charbox(0)
            return float(left)
        finally:
            document.close()

    assert left_of_text(margin_left="0") < 20
    assert 144 <= left_of_text(margin_left="2in") < 160


def test_page_ranges(convert: Convert) -> None:
    assert [text.strip() for *_, text in pdf_pages(convert(THREE_PAGES, "pdf"))] == [
        "alpha",
        "bravo",
        "charlie",
    ]
    assert [text.strip() for *_, text in pdf_pages(convert(THREE_PAGES, "pdf", pages="2-"))] == [
        "bravo",
        "charlie",
    ]
    assert [text.strip() for *_, text in pdf_pages(convert(THREE_PAGES, "pdf", pages="1, 3"))] == [
        "alpha",
        "charlie",
    ]


def test_pages_past_the_end_are_refused(convert: Convert) -> None:
    error = refused(convert, THREE_PAGES, pages="5-6")
    assert error.code == "INVALID_OPTION"
    assert "page.html" in error.message


def test_header_and_footer_with_page_numbers(convert: Convert) -> None:
    footer = (
        "<div style='font-size:10px;width:100%;text-align:center'>"
        "Page <span class='pageNumber'></span> of <span class='totalPages'></span></div>"
    )
    header = "<div style='font-size:10px'>Title: <span class='title'></span></div>"
    pages = pdf_pages(convert(THREE_PAGES, "pdf", header_html=header, footer_html=footer, margin_top="2cm"))
    assert len(pages) == 3
    for number, (*_, text) in enumerate(pages, start=1):
        assert f"Page {number} of 3" in text
        assert "Title: Report" in text


def test_only_the_template_given_is_shown(convert: Convert) -> None:
    [(*_, text)] = pdf_pages(convert("<title>Shown</title><p>body</p>", "pdf", footer_html="<b>foot</b>"))
    assert "Shown" not in text  # Chromium's default header (title, date) is not printed


def test_print_background(convert: Convert) -> None:
    page = "<style>html{background:#ff0000}</style><p>red</p>"
    assert pdf_pixel(convert(page, "pdf"), 0.5, 0.5) == (255, 255, 255)
    red, green, blue = pdf_pixel(convert(page, "pdf", print_background=True), 0.5, 0.5)
    assert red > 200 and green < 60 and blue < 60


def test_css_page_size_wins_when_asked(convert: Convert) -> None:
    page = "<style>@page{size:100mm 100mm}</style><p>square</p>"
    [(width, height, _)] = pdf_pages(convert(page, "pdf"))
    assert (width, height) == pytest.approx(A4, abs=1)
    [(width, height, _)] = pdf_pages(convert(page, "pdf", prefer_css_page_size=True))
    assert (width, height) == pytest.approx((283.5, 283.5), abs=1)


def test_scale_shrinks_the_content(convert: Convert) -> None:
    tall = "<div style='height:2000px'>top</div><p>end</p>"
    assert len(pdf_pages(convert(tall, "pdf"))) == 2
    assert len(pdf_pages(convert(tall, "pdf", scale=0.5))) == 1


def test_markdown_to_pdf(convert: Convert) -> None:
    [(*_, text)] = pdf_pages(convert("# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "pdf", name="notes.md"))
    assert "Title" in text and "1" in text


def test_outline_and_tags(convert: Convert) -> None:
    page = "<h1>Chapter one</h1><p>text</p><h2>Section</h2><p>more</p>"
    document = pypdfium2.PdfDocument(convert(page, "pdf", outline=True))
    try:
        titles = [item.get_title() for item in document.get_toc()]
    finally:
        document.close()
    assert titles[:2] == ["Chapter one", "Section"]
    assert b"/StructTreeRoot" in convert(page, "pdf").read_bytes()  # tagged by default
    assert b"/StructTreeRoot" not in convert(page, "pdf", tagged=False).read_bytes()
