"""Word, OpenDocument, EPUB and HTML made and read by Pandoc, each opened and checked."""

from __future__ import annotations

import base64
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import docx
from conftest import Convert, saved, word_document, zip_members
from PIL import Image

GUIDE = """# Getting Started

Conversio turns *documents* into other documents, with [its guide](https://example.org/guide).

## Steps

1. install the plugin
2. convert the file

| Format | Reader |
|--------|--------|
| docx   | Pandoc |
| epub   | Pandoc |
"""
XHTML = "{http://www.w3.org/1999/xhtml}"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def test_markdown_to_word_keeps_headings_lists_tables_and_links(convert: Convert, tmp_path: Path) -> None:
    document = docx.Document(str(saved(convert(GUIDE, "guide.md", "docx"), tmp_path)))
    styled = [(p.style.name, p.text) for p in document.paragraphs if p.style is not None]
    assert ("Heading 1", "Getting Started") in styled
    assert ("Heading 2", "Steps") in styled
    assert [text for _, text in styled if text.endswith(("plugin", "file"))] == [
        "install the plugin",
        "convert the file",
    ]
    [table] = document.tables
    assert [[cell.text for cell in row.cells] for row in table.rows] == [
        ["Format", "Reader"],
        ["docx", "Pandoc"],
        ["epub", "Pandoc"],
    ]
    assert "https://example.org/guide" in {rel.target_ref for rel in document.part.rels.values()}


def test_markdown_to_word_to_markdown_keeps_the_words(convert: Convert, tmp_path: Path) -> None:
    word = saved(convert(GUIDE, "guide.md", "docx"), tmp_path / "docx")
    back = saved(convert(word, "guide.docx", "md"), tmp_path / "md").read_text()
    assert words(back) == words(GUIDE)
    assert "# Getting Started" in back and "[its guide](https://example.org/guide)" in back


def test_markdown_to_epub_is_a_book_with_the_chapter(convert: Convert, tmp_path: Path) -> None:
    members = zip_members(saved(convert(GUIDE, "guide.md", "epub"), tmp_path))
    assert members["mimetype"] == b"application/epub+zip"
    opf = ET.fromstring(members["EPUB/content.opf"])
    titles = [e.text for e in opf.iter("{http://purl.org/dc/elements/1.1/}title")]
    assert titles == ["guide"]  # the file's name, as the document has no title of its own
    chapters = [ET.fromstring(data) for name, data in members.items() if name.startswith("EPUB/text/ch")]
    text = " ".join("".join(chapter.itertext()) for chapter in chapters)
    assert " ".join(words(re.sub(r"\(https://[^)]+\)", "", GUIDE))) in " ".join(words(text))
    links = [a.get("href") for chapter in chapters for a in chapter.iter(XHTML + "a")]
    assert "https://example.org/guide" in links
    cells = ["".join(cell.itertext()) for chapter in chapters for cell in chapter.iter(XHTML + "td")]
    assert cells == ["docx", "Pandoc", "epub", "Pandoc"]


def test_markdown_to_opendocument_has_the_heading_and_table(convert: Convert, tmp_path: Path) -> None:
    content = ET.fromstring(zip_members(saved(convert(GUIDE, "guide.md", "odt"), tmp_path))["content.xml"])
    text_ns = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
    table_ns = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
    headings = ["".join(h.itertext()) for h in content.iter(text_ns + "h")]
    assert headings == ["Getting Started", "Steps"]
    assert len(list(content.iter(table_ns + "table-cell"))) == 6


def test_word_with_an_image_to_textpack_has_the_markdown_and_its_image(
    convert: Convert, tmp_path: Path
) -> None:
    source = word_document(tmp_path / "report.docx", image=True)
    result = convert(source, "report.docx", "textpack")
    members = zip_members(saved(result, tmp_path / "out"))
    assert json.loads(members["info.json"])["type"] == "net.daringfireball.markdown"
    markdown = members["text.md"].decode()
    assert "# Quarterly Report" in markdown and "| North" in markdown
    [link] = re.findall(r'(?:src="|\]\()(assets/[^")]+)', markdown)
    image = Image.open(io.BytesIO(members[link]))
    assert image.size == (24, 24) and image.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    assert not result.warnings


def test_word_to_markdown_says_its_images_are_not_kept(convert: Convert, tmp_path: Path) -> None:
    result = convert(word_document(tmp_path / "report.docx", image=True), "report.docx", "md")
    [warning] = result.warnings
    assert warning.startswith("report.docx: its 1 image(s) are not kept in md; convert it to textpack")


def test_word_to_html_carries_its_image_inline(convert: Convert, tmp_path: Path) -> None:
    source = word_document(tmp_path / "report.docx", image=True)
    page = saved(convert(source, "report.docx", "html"), tmp_path / "out").read_text()
    [data] = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (24, 24)
    assert "media/" not in page


def test_the_flavour_decides_how_markdown_is_read(convert: Convert, tmp_path: Path) -> None:
    pandoc = saved(convert("H~2~O", "water.md", "html", flavour="pandoc"), tmp_path / "pandoc").read_text()
    gfm = saved(convert("H~2~O", "water.md", "html"), tmp_path / "gfm").read_text()
    assert "H<sub>2</sub>O" in pandoc
    assert "<sub>" not in gfm


def test_the_flavour_decides_how_markdown_is_written(convert: Convert, tmp_path: Path) -> None:
    html = "<p>H<sub>2</sub>O and <del>old</del></p>"
    pandoc = saved(convert(html, "water.html", "md", flavour="pandoc"), tmp_path / "pandoc").read_text()
    commonmark = saved(convert(html, "water.html", "md", flavour="commonmark"), tmp_path / "cm").read_text()
    assert "H~2~O" in pandoc and "~~old~~" in pandoc
    assert "H<sub>2</sub>O" in commonmark and "<s>old</s>" in commonmark


def test_a_table_of_contents_is_added_when_asked(convert: Convert, tmp_path: Path) -> None:
    page = saved(convert(GUIDE, "guide.md", "html", toc=True), tmp_path).read_text()
    assert re.search(r'<nav id="TOC".*href="#steps"', page, re.S)


def test_opendocument_to_html_carries_its_image_inline(convert: Convert, tmp_path: Path) -> None:
    source = word_document(tmp_path / "report.docx", image=True)
    odt = saved(convert(source, "report.docx", "odt"), tmp_path / "odt")
    assert any(name.startswith("Pictures/") for name in zip_members(odt))
    page = saved(convert(odt, "report.odt", "html"), tmp_path / "html").read_text()
    [data] = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert Image.open(io.BytesIO(base64.b64decode(data))).size == (24, 24)
