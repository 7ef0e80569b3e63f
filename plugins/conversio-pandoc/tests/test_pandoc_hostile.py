"""Hostile documents: files reaching for the disk or the network, scripts, bombs, damage."""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from conftest import Convert, refused, saved, word_document, zip_members

from conversio.limits import Limits
from conversio.testing import make_conversio

SECRET = "conversio-secret-line"
LEFT_OUT = "an included file was left out (only the document itself is read)"
MEMORY = "converting it needs more memory than the limit allows"
NOT_FETCHED = "an image or file it refers to outside the document was left out"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file of the host a document must never read."""
    path = tmp_path / "secret.txt"
    path.write_text(f"{SECRET}\n")
    return path


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[str]]]:
    """A web server on loopback that records every request it gets: its port, and the paths."""
    hits: list[str] = []

    class Recording(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize(
    ("name", "document"),
    [
        (
            "paper.tex",
            "\\documentclass{article}\\begin{document}Intro \\input{SECRET} \\include{SECRET}\\end{document}",
        ),
        ("notes.rst", "Intro\n\n.. include:: SECRET\n\n.. raw:: html\n   :file: SECRET\n"),
        ("notes.org", 'Intro\n#+INCLUDE: "SECRET"\n'),
        ("notes.md", "Intro\n\n![x](SECRET)\n\n![y](file://SECRET)\n"),
    ],
)
@pytest.mark.parametrize("target", ["html", "docx"])
def test_includes_of_local_files_are_left_out(
    convert: Convert, tmp_path: Path, secret: Path, name: str, document: str, target: str
) -> None:
    result = convert(document.replace("SECRET", str(secret)), name, target)
    out = saved(result, tmp_path / "out")
    everything = out.read_bytes() if target == "html" else b"".join(zip_members(out).values())
    assert SECRET.encode() not in everything
    assert "Intro" in (out.read_text() if target == "html" else docx.Document(str(out)).paragraphs[0].text)
    if target == "html" and name in ("notes.rst", "notes.md"):
        return  # reST's raw :file: is dropped without a word; a page's images are only links
    assert result.warnings and set(result.warnings) <= {f"{name}: {LEFT_OUT}", f"{name}: {NOT_FETCHED}"}


def test_an_asciidoc_include_is_refused(convert: Convert, secret: Path) -> None:
    error = refused(convert, f"= Notes\n\ninclude::{secret}[]\n", "notes.adoc", "html")
    assert error.code == "CONVERSION_FAILED"
    assert str(error).startswith("CONVERSION_FAILED: notes.adoc includes another file")
    assert str(secret) not in str(error)


@pytest.mark.parametrize("target", ["docx", "epub", "odt"])
def test_web_images_and_styles_are_never_fetched(
    convert: Convert, tmp_path: Path, recorder: tuple[int, list[str]], target: str
) -> None:
    port, hits = recorder
    page = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/style.css"></head>'
        f'<body><h1>Report</h1><img src="http://127.0.0.1:{port}/chart.png"></body></html>'
    )
    result = convert(page, "report.html", target)
    assert zip_members(saved(result, tmp_path))
    assert result.warnings == (f"report.html: {NOT_FETCHED}",)
    markdown = f"# Report\n\n![chart](http://127.0.0.1:{port}/chart.png)\n"
    convert(markdown, "report.md", target)
    assert hits == []


def test_html_written_from_a_document_runs_no_script(convert: Convert, tmp_path: Path) -> None:
    markdown = (
        "---\nheader-includes: <script>alert('head')</script>\n---\n\n# Notes\n\n"
        "<script>alert('body')</script>\n\n<img src=x onerror=\"alert('attribute')\">\n"
    )
    page = saved(convert(markdown, "notes.md", "html", flavour="pandoc"), tmp_path).read_text()
    head = page[: page.index("</head>")]
    assert '<meta http-equiv="Content-Security-Policy" content="script-src \'none\';' in head
    assert "alert('head')" not in page  # the document cannot put its own lines in the head
    assert page.index("Content-Security-Policy") < page.index("alert('body')")


def test_deep_nesting_meets_the_memory_cap(tmp_path: Path) -> None:
    app = make_conversio(
        "conversio_pandoc.plugin", cache=False, limits=Limits(timeout=60, max_engine_memory=512 * 1024 * 1024)
    )
    source = tmp_path / "quotes.md"
    source.write_text(">" * 200_000 + " deep\n")
    try:
        with pytest.raises(Exception) as info:
            app.convert(source, to="html").run()
    finally:
        app.close()
    assert (
        str(info.value) == "FILE_TOO_LARGE: quotes.md: converting it needs more memory than the limit allows"
    )


def test_a_slow_conversion_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    app = make_conversio("conversio_pandoc.plugin", cache=False, limits=Limits(timeout=0.5))
    source = tmp_path / "long.md"
    source.write_text("".join(f"{'>' * 50} line {n} *a **b** c*\n\n" for n in range(40_000)))
    try:
        with pytest.raises(Exception) as info:
            app.convert(source, to="docx").run()
    finally:
        app.close()
    assert str(info.value) == "TIMEOUT: converting long.md to docx took longer than 0.5 s and was stopped"


def test_a_zip_bomb_named_as_word_is_refused_unread(convert: Convert, tmp_path: Path) -> None:
    source = word_document(tmp_path / "report.docx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in original.infolist():
            bomb.writestr(item, original.read(item))
        bomb.writestr("word/media/huge.png", bytes(300 * 1024 * 1024))
    error = refused(convert, buffer.getvalue(), "report.docx", "md")
    assert error.code == "FILE_TOO_LARGE"
    assert str(error).startswith("FILE_TOO_LARGE: report.docx unpacks to 300 MiB")


@pytest.mark.parametrize("name", ["report.docx", "book.epub"])
def test_a_damaged_document_is_corrupt_and_named(convert: Convert, tmp_path: Path, name: str) -> None:
    source = word_document(tmp_path / "source.docx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(buffer, "w") as damaged:
        if name.endswith(".epub"):
            damaged.writestr("mimetype", "application/epub+zip")
        for item in original.infolist():
            damaged.writestr(
                item, b"<w:document><broken" if item.filename == "word/document.xml" else original.read(item)
            )
    error = refused(convert, buffer.getvalue(), name, "md")
    assert (
        str(error)
        == f"CORRUPT_FILE: {name} is damaged or is not a {name.split('.')[1]} file conversio can read"
    )


def test_text_past_the_size_limit_is_refused_unread(convert: Convert) -> None:
    error = refused(convert, "word " * (7 * 1024 * 1024), "huge.md", "html")
    assert str(error) == "FILE_TOO_LARGE: huge.md is 35 MiB of text; at most 32 MiB is converted"
