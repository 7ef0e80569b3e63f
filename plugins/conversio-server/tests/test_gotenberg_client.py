"""The official Gotenberg client (``gotenberg-client`` on PyPI) against a real server on 127.0.0.1:
the Chromium routes (HTML, Markdown and URL into PDF and screenshots) and the LibreOffice route.

Every answer is opened for real: PDFs with pypdfium2 and pikepdf, screenshots with Pillow, zips
with zipfile. The PDF engines, what conversio refuses, headers, webhooks and auth are in
test_gotenberg_client_service.py.
"""

from __future__ import annotations

import io
from http import HTTPStatus
from pathlib import Path
from typing import Literal

import pikepdf
import pytest
from gotenberg_client import GotenbergClient, SingleFileResponse, ZipFileResponse
from gotenberg_client.constants import A4, Letter
from gotenberg_client.options import (
    CookieJar,
    Measurement,
    MeasurementUnitType,
    PageMarginsType,
    PageOrientation,
    PageSize,
    PdfAFormat,
)
from gotenberg_inputs import (
    PAGE,
    RED,
    STYLE,
    count_close,
    document,
    first_char_box,
    image_of,
    page_sizes,
    page_texts,
    pages_html,
    pdfa_report,
    refused,
    rendered,
    xmp_value,
    zip_members,
)
from gotenberg_web import ECHO_PATH, WebHost

pytest_plugins = ("gotenberg_fixtures",)

INCH = 72.0
MM = INCH / 25.4

# -- HTML, Markdown and URL into PDF -------------------------------------------------------------------


def test_html_with_assets_into_pdf(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.index(inputs / "index.html").resources([inputs / "style.css", inputs / "logo.png"])
        response = route.run()
    assert isinstance(response, SingleFileResponse) and response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert "Quarterly report" in page_texts(response.content)[0]
    assert page_sizes(response.content) == [pytest.approx((8.5 * INCH, 11 * INCH), abs=1)]  # Letter
    assert count_close(rendered(response.content), RED) > 1000  # the uploaded logo was drawn


def test_html_from_strings(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(PAGE).string_resource(STYLE, "style.css", "text/css")
        response = route.skip_network_idle().skip_network_almost_idle(skip=True).run()  # accepted, no effect
    assert "Revenue grew in every region." in page_texts(response.content)[0]


@pytest.mark.parametrize(
    ("size", "orientation", "expected"),
    [(A4, PageOrientation.Portrait, (8.27, 11.7)), (Letter, PageOrientation.Landscape, (11, 8.5))],
)
def test_paper_size_and_orientation(
    gotenberg: GotenbergClient, size: PageSize, orientation: PageOrientation, expected: tuple[float, float]
) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        response = route.string_index(PAGE).size(size).orient(orientation).run()
    width, height = expected
    assert page_sizes(response.content) == [pytest.approx((width * INCH, height * INCH), abs=1.5)]


def test_margins_move_the_text(gotenberg: GotenbergClient) -> None:
    top, left = Measurement(2, MeasurementUnitType.Inches), Measurement(40, MeasurementUnitType.Millimeters)
    with gotenberg.chromium.html_to_pdf() as route:
        response = (
            route.string_index(pages_html("Margins")).margins(PageMarginsType(top=top, left=left)).run()
        )
    char_left, _, _, char_top = first_char_box(response.content)
    assert 40 * MM <= char_left <= 40 * MM + 20
    assert 9 * INCH - 30 <= char_top <= 9 * INCH


def test_scale_shrinks_the_content(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        response = route.string_index(pages_html("MMMM", style="p { font-size: 40px; }")).scale(0.5).run()
    _, bottom, _, top = first_char_box(response.content)
    assert 7 < top - bottom < 15  # a 30 pt M is about 21 pt tall; half of it at scale 0.5


def test_page_ranges_header_and_footer(gotenberg: GotenbergClient) -> None:
    small = "p, span { font-size: 10px; }"
    footer = document(
        'Page <span class="pageNumber"></span> of <span class="totalPages"></span>', style=small
    )
    header = document('Header <span class="title"></span>', style=small)
    inch = Measurement(1, MeasurementUnitType.Inches)
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(pages_html("page one", "page two", "page three", title="Ledger"))
        route.string_header(header).string_footer(footer).margins(PageMarginsType(top=inch, bottom=inch))
        response = route.page_ranges("2-3").run()
    texts = ["".join(text.split()) for text in page_texts(response.content)]  # spaces vary by renderer
    assert len(texts) == 2
    assert "pagetwo" in texts[0] and "pagethree" in texts[1]
    assert "HeaderLedger" in texts[0]
    assert "Page2of3" in texts[0] and "Page3of3" in texts[1]  # Chromium numbers the document's pages


@pytest.mark.parametrize("print_background", [False, True])
def test_print_background(gotenberg: GotenbergClient, print_background: bool) -> None:
    page = pages_html("Background", style="html, body { background: rgb(220, 30, 30); }")
    with gotenberg.chromium.html_to_pdf() as route:
        response = route.string_index(page).print_background(print_background=print_background).run()
    image = rendered(response.content)
    red_share = count_close(image, RED) / (image.width * image.height)
    assert red_share > 0.75 if print_background else red_share < 0.01, red_share  # margins stay white


def test_css_page_size(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        a5 = route.string_index(pages_html("A5", style="@page { size: A5; }")).prefer_css_page_size().run()
    assert page_sizes(a5.content) == [pytest.approx((148 * MM, 210 * MM), abs=1.5)]


@pytest.mark.parametrize("media", ["print", "screen"])
def test_emulated_media_type(gotenberg: GotenbergClient, media: Literal["print", "screen"]) -> None:
    style = "@media print { .screen { display: none; } } @media screen { .print { display: none; } }"
    page = document('<p class="print">PRINTED</p><p class="screen">SCREENED</p>', style=style)
    with gotenberg.chromium.html_to_pdf() as route:
        text = page_texts(route.string_index(page).media_type(media).run().content)[0]
    assert ("SCREENED" in text) is (media == "screen") and ("PRINTED" in text) is (media == "print")


LATE = """<p>Early</p><script>setTimeout(() => {
document.body.insertAdjacentHTML("beforeend", '<p id="late">Arrived late</p>'); window.ready = true;
}, 700);</script>"""


@pytest.mark.parametrize("wait", ["expression", "selector", "delay"])
def test_waiting_before_rendering(gotenberg: GotenbergClient, wait: str) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(document(LATE))
        if wait == "expression":
            route.render_expression("window.ready === true")
        elif wait == "selector":
            route.wait_for_selector("#late")
        else:
            route.render_wait(1.5)
        response = route.run()
    assert "Arrived late" in page_texts(response.content)[0]


def test_outline_tags_and_metadata(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(document("<h1>Chapter one</h1><p>Text.</p>"))
        route.generate_document_outline(generate_document_outline=True).generate_tagged_pdf(generate=True)
        response = route.metadata(title="Annual figures", author="Ada Lovelace").run()
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Annual figures"
        assert str(pdf.docinfo["/Author"]) == "Ada Lovelace"
        assert "/StructTreeRoot" in pdf.Root
        with pdf.open_outline() as outline:
            assert [item.title for item in outline.root] == ["Chapter one"]


def test_page_into_pdfa(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(document("<h1>Chapter one</h1><p>Archived text.</p>", title="Archive"))
        response = route.pdf_format(PdfAFormat.A1b).metadata(title="Kept title").run()
    assert pdfa_report(response.content) == ("1", "B", True, [])
    assert "Archived text." in page_texts(response.content)[0]
    assert xmp_value(response.content, "dc:title") == "Kept title"


def test_split_the_printed_pages(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.html_to_pdf() as route:
        route.string_index(pages_html("first half", "second half"))
        response = route.split_mode("intervals").split_span("1").run()
    assert isinstance(response, ZipFileResponse)
    members = zip_members(response.content)
    assert len(members) == 2 and all(name.endswith(".pdf") for name in members)
    assert sorted(page_texts(content)[0] for content in members.values()) == ["first half", "second half"]


def test_markdown_into_pdf(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.chromium.markdown_to_pdf() as route:
        response = route.index(inputs / "markdown-index.html").markdown_file(inputs / "harvest.md").run()
    text = page_texts(response.content)[0]
    for word in ("Harvest notes", "Fruit", "Apples", "42", "Pears", "17"):
        assert word in text
    assert "toHTML" not in text


def test_url_into_pdf(gotenberg: GotenbergClient, web: WebHost) -> None:
    with gotenberg.chromium.url_to_pdf() as route:
        response = route.url(f"{web.url}/report.html").run()
    assert "Quarterly report" in page_texts(response.content)[0]
    assert count_close(rendered(response.content), RED) > 1000


def test_url_headers_user_agent_and_cookies(gotenberg: GotenbergClient, web: WebHost) -> None:
    with gotenberg.chromium.url_to_pdf() as route:
        route.url(f"{web.url}{ECHO_PATH}").user_agent("conversio-tests/1.0")
        route.headers({"X-Conversio-Test": "hello-header"})
        route.cookies([CookieJar(name="flavour", value="oat", domain="127.0.0.1")])
        text = page_texts(route.run().content)[0]
    assert "conversio-tests/1.0" in text and "hello-header" in text and "flavour=oat" in text


@pytest.mark.parametrize(
    "check",
    [
        "main page 404 by default",
        "main page status",
        "resource status",
        "resource loading failed",
        "console exception",
    ],
)
def test_page_checks_answer_409(gotenberg: GotenbergClient, web: WebHost, check: str) -> None:
    with gotenberg.chromium.url_to_pdf() as route:
        if check == "main page 404 by default":  # Gotenberg's failOnHttpStatusCodes is [499,599]
            route.url(f"{web.url}/missing.html")
        elif check == "main page status":
            route.url(f"{web.url}/missing.html").fail_on_status_codes([HTTPStatus.NOT_FOUND])
        elif check == "resource status":
            route.url(f"{web.url}/broken-image.html").fail_on_resource_status_codes([HTTPStatus.NOT_FOUND])
        elif check == "resource loading failed":
            route.url(f"{web.url}/refused-image.html").fail_on_resource_loading_failed(
                fail_on_resource_loading_failed=True
            )
        else:
            route.url(f"{web.url}/throws.html").fail_on_exceptions()
        refused(route.run, 409)


@pytest.mark.parametrize(
    ("url", "status"), [("http://169.254.169.254/latest/", 403), ("file:///etc/passwd", 400)]
)
def test_url_refused(gotenberg: GotenbergClient, url: str, status: int) -> None:
    with gotenberg.chromium.url_to_pdf() as route:
        assert b"root:" not in refused(route.url(url).run, status)


# -- screenshots ---------------------------------------------------------------------------------------


def test_screenshot_of_html_is_the_whole_page(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.screenshot_html() as route:
        route.string_index(pages_html("top", style="body { height: 2000px; }"))
        response = route.image_optimize_for_speed().run()
    image = image_of(response.content)
    assert image.format == "PNG" and image.width == 800 and image.height >= 2000


@pytest.mark.parametrize(("fmt", "pillow"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_screenshot_formats_and_clip(
    gotenberg: GotenbergClient, inputs: Path, fmt: Literal["png", "jpeg", "webp"], pillow: str
) -> None:
    with gotenberg.chromium.screenshot_html() as route:
        route.index(inputs / "index.html").resources([inputs / "style.css", inputs / "logo.png"])
        route.width(640).height(360).clip_to_dimensions().output_format(fmt)
        if fmt == "jpeg":
            route.quality(60)
        image = image_of(route.run().content)
    assert (image.format, image.size) == (pillow, (640, 360))
    assert count_close(image, RED) > 5000


def test_screenshot_without_background(gotenberg: GotenbergClient) -> None:
    with gotenberg.chromium.screenshot_html() as route:
        image = image_of(route.string_index(pages_html("see through")).hide_background().run().content)
    assert image.mode == "RGBA"
    corner = image.getchannel("A").crop((image.width - 50, image.height - 50, image.width, image.height))
    assert corner.getextrema() == (0, 0)  # the page is see-through where it has no text


def test_screenshot_of_url_and_markdown(gotenberg: GotenbergClient, web: WebHost, inputs: Path) -> None:
    with gotenberg.chromium.screenshot_url() as route:
        page = image_of(route.url(f"{web.url}/report.html").run().content)
    assert page.format == "PNG" and page.width == 800 and count_close(page, RED) > 5000
    with gotenberg.chromium.screenshot_markdown() as route:
        route.index(inputs / "markdown-index.html").resource(inputs / "harvest.md")
        image = image_of(route.run().content)
    assert image.format == "PNG" and image.width == 800
    assert count_close(image, (0, 0, 0), tolerance=60) > 200  # the table's text was drawn


# -- LibreOffice -----------------------------------------------------------------------------------------


def test_office_document_into_pdf(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.libre_office.to_pdf() as route:
        response = route.convert(inputs / "letters.docx").export_bookmarks(export_bookmarks=True).run()
    assert page_texts(response.content) == ["letter one", "letter two", "letter three"]
    a4 = (210 * MM, 297 * MM)  # the document's own page size
    assert page_sizes(response.content)[0] == pytest.approx(a4, abs=1.5)


def test_office_documents_zipped_or_merged(gotenberg: GotenbergClient, inputs: Path) -> None:
    documents = [inputs / "memo.docx", inputs / "letters.docx"]
    with gotenberg.libre_office.to_pdf() as route:
        response = route.convert_files(documents).output_filename("bundle").run()
    assert isinstance(response, ZipFileResponse)
    assert response.headers["Content-Disposition"] == 'attachment; filename="bundle.zip"'
    members = zip_members(response.content)
    assert sorted(members) == ["letters.docx.pdf", "memo.docx.pdf"]  # Gotenberg's names
    assert page_texts(members["memo.docx.pdf"]) == ["memo one", "memo two"]
    with gotenberg.libre_office.to_pdf() as route:
        merged = route.convert_files(documents).do_merge().run()
    # Gotenberg merges in the alphanumeric order of the file names
    assert page_texts(merged.content) == ["letter one", "letter two", "letter three", "memo one", "memo two"]


def test_office_page_ranges_landscape_pdfa_and_metadata(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.libre_office.to_pdf() as route:
        route.convert(inputs / "letters.docx").page_ranges("2-3").orient(PageOrientation.Landscape)
        response = route.pdf_format(PdfAFormat.A2b).metadata(title="Letters", author="Grace Hopper").run()
    assert page_texts(response.content) == ["letter two", "letter three"]
    width, height = page_sizes(response.content)[0]
    assert width > height
    assert xmp_value(response.content, "pdfaid:part") == "2"
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        assert str(pdf.docinfo["/Title"]) == "Letters" and str(pdf.docinfo["/Author"]) == "Grace Hopper"


def test_office_document_into_pdfa_3b_and_split(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.libre_office.to_pdf() as route:
        response = route.convert(inputs / "memo.docx").pdf_format(PdfAFormat.A3b).run()
    assert pdfa_report(response.content) == ("3", "B", True, [])
    assert page_texts(response.content) == ["memo one", "memo two"]
    with gotenberg.libre_office.to_pdf() as route:
        route.convert(inputs / "memo.docx").pdf_format(PdfAFormat.A2b)
        parts = zip_members(route.split_mode("intervals").split_span("1").run().content)
    assert sorted(page_texts(part)[0] for part in parts.values()) == ["memo one", "memo two"]
    assert all(pdfa_report(part) == ("2", "B", True, []) for part in parts.values())


def test_office_protected_document_needs_its_password(gotenberg: GotenbergClient, inputs: Path) -> None:
    for password in (None, "wrong"):
        with gotenberg.libre_office.to_pdf() as route:
            route.convert(inputs / "minutes.odt")
            if password:
                route.password(password)
            assert b"s3cret" not in refused(route.run, 400)
    with gotenberg.libre_office.to_pdf() as route:
        response = route.convert(inputs / "minutes.odt").password("s3cret").run()
    assert page_texts(response.content) == ["secret minutes"]


def test_office_document_split_keeps_gotenberg_names(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.libre_office.to_pdf() as route:
        response = route.convert(inputs / "letters.docx").split_mode("intervals").split_span("1").run()
    members = zip_members(response.content)
    assert sorted(members) == [f"letters.docx_{n}.pdf" for n in range(3)]
    assert page_texts(members["letters.docx_1.pdf"]) == ["letter two"]


def test_office_corrupt_document_answers_400(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.libre_office.to_pdf() as route:
        refused(route.convert(inputs / "broken.docx").run, 400)
