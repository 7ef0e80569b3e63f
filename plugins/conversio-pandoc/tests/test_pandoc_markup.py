"""The five markup formats this plugin declares: recognised by name, read for real, written back."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import Convert, refused, saved

import conversio

#: One document in each markup: a heading, a list, a table and a link.
SAMPLES = {
    "guide.tex": r"""\documentclass{article}
\begin{document}
\section{Getting Started}
Read the \href{https://example.org/docs}{online docs}.
\begin{itemize}
\item first step
\item second step
\end{itemize}
\begin{tabular}{ll}
Name & Value \\
alpha & 42 \\
\end{tabular}
\end{document}
""",
    "guide.rst": """Getting Started
===============

Read the `online docs <https://example.org/docs>`_.

- first step
- second step

=====  =====
Name   Value
=====  =====
alpha  42
=====  =====
""",
    "guide.org": """* Getting Started
Read the [[https://example.org/docs][online docs]].
- first step
- second step

| Name  | Value |
|-------+-------|
| alpha | 42    |
""",
    "guide.textile": """h1. Getting Started

Read the "online docs":https://example.org/docs.

* first step
* second step

|_. Name |_. Value |
| alpha | 42 |
""",
    "guide.adoc": """= Document

== Getting Started

Read the https://example.org/docs[online docs].

* first step
* second step

|===
|Name |Value
|alpha |42
|===
""",
}
MARKDOWN = (
    "# Getting Started\n\nRead the [online docs](https://example.org/docs).\n\n- first step\n- second step\n"
)
FORMATS = {
    "guide.tex": "latex",
    "guide.rst": "rst",
    "guide.org": "org",
    "guide.textile": "textile",
    "guide.adoc": "asciidoc",
}


class Page(HTMLParser):
    """The text inside each kind of element of an HTML page, and the addresses of its links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        if tag == "a":
            self.links += [value or "" for key, value in attrs if key == "href"]

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        for tag in set(self.open) if data.strip() else ():
            self.text.setdefault(tag, []).append(data.strip())


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_markup_is_read_for_real(convert: Convert, tmp_path: Path, name: str) -> None:
    page = Page(saved(convert(SAMPLES[name], name, "html"), tmp_path).read_text())
    headings = page.text.get("h1", []) + page.text.get("h2", [])
    assert "Getting Started" in headings
    assert page.text["li"] == ["first step", "second step"]
    cells = page.text.get("td", []) + page.text.get("th", [])
    assert {"Name", "Value", "alpha", "42"} <= set(cells)
    assert "https://example.org/docs" in page.links


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_markup_is_recognised_by_its_name(app: conversio.Conversio, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(SAMPLES[name])
    assert app.sniff(path).format == FORMATS[name]


@pytest.mark.parametrize("target", ["rst", "latex", "org", "textile", "asciidoc"])
def test_markdown_is_written_as_each_markup_and_read_back(
    convert: Convert, tmp_path: Path, target: str
) -> None:
    markdown = MARKDOWN
    written = saved(convert(markdown, "guide.md", target), tmp_path / "written")
    assert written.suffix == {"latex": ".tex", "asciidoc": ".adoc"}.get(target, f".{target}")
    back = saved(convert(written, written.name, "md"), tmp_path / "back").read_text()
    assert "Getting Started" in back
    assert "[online docs](https://example.org/docs)" in back
    assert "first step" in back and "second step" in back


def test_a_binary_file_named_as_markup_is_refused(convert: Convert) -> None:
    error = refused(convert, b"\x00\x01\x02binary\x00" * 64, "notes.rst", "html")
    assert error.code == "UNSUPPORTED_FORMAT"
    assert "notes.rst" in str(error)


def test_latex_that_mentions_a_pdf_header_stays_latex(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "paper.tex"
    path.write_text(
        "% written for %PDF-1.7 viewers\n\\documentclass{article}\n\\begin{document}\nHi\n\\end{document}\n"
    )
    assert app.sniff(path).format == "latex"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_text_in_any_usual_encoding_is_read_as_written(
    convert: Convert, tmp_path: Path, encoding: str
) -> None:
    heading = "Überschrift — “quoted”"
    page = Page(saved(convert(f"# {heading}\n".encode(encoding), "notes.md", "html"), tmp_path).read_text())
    assert page.text["h1"] == [heading]
