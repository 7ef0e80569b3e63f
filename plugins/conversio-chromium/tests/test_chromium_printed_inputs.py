"""Each kind of input printed by a real Chromium, and the result read back.

Markdown to PDF (its table, its code, its scripts shown and never run), a page with its
stylesheet and picture in an ``.htmlz``, Gotenberg's ``toHTML`` bundle, a page of undeclared
UTF-8, and a page to PNG.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

import conversio
from conversio.limits import Limits
from conversio.testing import make_conversio

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def app() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one (one warm browser for the module)."""
    instance = make_conversio("conversio_chromium.plugin", cache=False, limits=Limits(timeout=30))
    yield instance
    instance.close()


def converted(app: conversio.Conversio, source: Path, to: str, **options: object) -> Path:
    [path] = app.convert(source, to=to, options=options or None).save(source.parent / f"out-{to}/")
    return path


def pdf_text(path: Path) -> str:
    """The text of every page, one page after another."""
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def rendered(path: Path) -> Image.Image:
    """The PDF's first page as an RGB image, 72 pixels an inch."""
    document = pypdfium2.PdfDocument(path)
    try:
        return document[0].render(scale=1).to_pil().convert("RGB")
    finally:
        document.close()


def test_markdown_prints_its_table_and_code_and_runs_no_script(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    source = tmp_path / "notes.md"
    source.write_text(
        "# Quarterly notes\n\n| Region | Sales |\n|---|---:|\n| Nordics | 4711 |\n\n"
        '```python\nprint("tide < 3")\n```\n\n- [x] shipped\n\n'
        "<script>document.body.innerHTML = 'SCRIPT RAN'</script>\n\n"
        "<img src=missing.png onerror=\"document.body.innerHTML = 'HANDLER RAN'\">\n",
        encoding="utf-8",
    )
    text = pdf_text(converted(app, source, "pdf"))
    assert "Quarterly notes" in text
    assert "Nordics" in text and "4711" in text
    assert 'print("tide < 3")' in text
    assert "<script>" in text  # shown as text, as GitHub shows it
    assert "HANDLER RAN" not in text and text.count("SCRIPT RAN") == 1  # only its own text


def test_a_bundle_prints_with_its_stylesheet_and_picture(app: conversio.Conversio, tmp_path: Path) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 20, 30)).save(picture, "PNG")
    source = tmp_path / "site.htmlz"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr(
            "site/index.html",
            '<link rel="stylesheet" href="css/print.css">'
            '<h1>Catalogue</h1><img class="hero" src="img/a/red.png">',
        )
        archive.writestr("site/css/print.css", ".hero { display: block; width: 100%; height: 300px; }")
        archive.writestr("site/img/a/red.png", picture.getvalue())
    pdf = converted(app, source, "pdf")
    assert "Catalogue" in pdf_text(pdf)
    document = pypdfium2.PdfDocument(pdf)
    try:
        kinds = [obj.type for obj in document[0].get_objects()]
    finally:
        document.close()
    assert pypdfium2.raw.FPDF_PAGEOBJ_IMAGE in kinds
    page = rendered(pdf)
    # 20 x 10 pixels unless the stylesheet stretched it across the page: red far from its corner.
    r, g, b = page.getpixel((page.width // 2, int(page.height * 0.2)))  # type: ignore[misc]
    assert r > 150 and g < 80 and b < 80


def test_placeholders_of_a_bundle_print_their_markdown(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "report.htmlz"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("index.html", '<html><body><p>Before</p>{{ toHTML "part.md" }}</body></html>')
        archive.writestr("part.md", "## Findings\n\n| Lake | Depth |\n|---|---|\n| Vättern | 128 |\n")
    text = pdf_text(converted(app, source, "pdf"))
    assert "Before" in text and "Findings" in text and "Vättern" in text and "128" in text


def test_a_page_of_undeclared_utf8_prints_its_own_letters(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "letter.html"
    source.write_text("<p>Здравствуйте, Zoë</p>", encoding="utf-8")
    assert "Здравствуйте, Zoë" in pdf_text(converted(app, source, "pdf"))


def test_the_example_page_becomes_a_png(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "page.html"
    source.write_bytes((EXAMPLES / "page.html").read_bytes())
    png = converted(app, source, "png", width=800, height=600, full_page=False)
    with Image.open(png) as shot:
        assert (shot.format, shot.size) == ("PNG", (800, 600))
        header = shot.convert("RGB").getpixel((400, 20))
    assert isinstance(header, tuple) and header[2] > 120 and header[0] < 120  # the blue header


def test_the_example_guide_prints_to_one_page(app: conversio.Conversio, tmp_path: Path) -> None:
    source = tmp_path / "guide.md"
    source.write_bytes((EXAMPLES / "guide.md").read_bytes())
    pdf = converted(app, source, "pdf")
    text = pdf_text(pdf)
    assert "Which engine does what" in text and "LibreOffice" in text and "import conversio" in text
    assert len(pypdfium2.PdfDocument(pdf)) == 1


def test_an_uploaded_page_is_a_secure_context_that_keeps_its_http_addresses(
    app: conversio.Conversio, tmp_path: Path
) -> None:
    """Served under plain http (no mixed-content blocking of its http:// files), yet secure."""
    source = tmp_path / "context.html"
    source.write_text(
        "<p id=out>?</p><script>document.getElementById('out').textContent = "
        "'secure ' + window.isSecureContext + ', ' + typeof crypto.randomUUID + ', ' + location.protocol;"
        "</script>",
        encoding="utf-8",
    )
    assert "secure true, function, http:" in pdf_text(converted(app, source, "pdf"))
