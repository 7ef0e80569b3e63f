"""Markdown rendered GitHub's way, and Gotenberg's ``{{ toHTML "file.md" }}`` placeholders.

No browser here: what Chromium is given is checked as HTML (parsed with the standard library).
"""

from __future__ import annotations

import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conversio_chromium.inputs import Source, load_source
from conversio_chromium.markdown import expand_placeholders, render_document, render_fragment, stylesheet

from conversio.converters import ConversionRequest, InputFile
from conversio.errors import ConversioError


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text outside scripts."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def load(path: Path, source: str) -> Source:
    request = ConversionRequest(
        inputs=(InputFile(path, path.name, source),), output_dir=path.parent, source=source, target="pdf"
    )
    return load_source(request)


def page_of(source: Source) -> str:
    assert source.site is not None
    return source.site.files[source.site.index].decode("utf-8")


GUIDE = """\
# Release *notes*

| Format | Pages |
|:-------|------:|
| PDF    | 12    |

- [x] tables
- [ ] screenshots

```python
if a < b and c > d:
    print("<b>&amp;</b>")
```

~~old~~ and www.example.org and <https://example.org/x>.
"""


def test_gfm_renders_tables_task_lists_code_and_links() -> None:
    html = render_fragment(GUIDE)
    elements = Elements(html)
    assert [a.get("style") for a in elements.named("td")] == ["text-align:left", "text-align:right"]
    boxes = elements.named("input")
    assert [b.get("type") for b in boxes] == ["checkbox", "checkbox"]
    assert ["checked" in b for b in boxes] == [True, False]
    assert all("disabled" in b for b in boxes)
    assert 'class="language-python"' in html
    assert "if a &lt; b and c &gt; d:" in html and "&lt;b&gt;&amp;amp;&lt;/b&gt;" in html  # escaped
    assert "<s>old</s>" in html
    assert [a["href"] for a in elements.named("a")] == ["http://www.example.org", "https://example.org/x"]
    assert elements.named("h1") == [{"id": "release-notes"}]  # a table of contents can link to it


def test_raw_html_is_kept_but_scripts_show_as_text() -> None:
    html = render_fragment(
        '<details><summary>More</summary>\n\n<img src="a.png" width="40">\n\n</details>\n\n'
        "<script>alert(1)</script>\n\ninline <SCRIPT src=x.js></SCRIPT> and <iframe src=evil></iframe>\n"
    )
    elements = Elements(html)
    assert elements.named("details") and elements.named("img") == [{"src": "a.png", "width": "40"}]
    assert not elements.named("script") and not elements.named("iframe")
    assert "&lt;script>alert(1)&lt;/script>" in html and "&lt;SCRIPT src=x.js>" in html


def test_a_document_is_a_whole_page_that_runs_no_script() -> None:
    page = render_document("Intro first.\n\n## Café `menu`\n\n<img src=x onerror=alert(1)>\n", "fallback")
    text = page.decode("utf-8")
    assert text.startswith("<!DOCTYPE html>")
    head = Elements(text)
    assert head.named("meta")[0] == {"charset": "utf-8"}
    assert {"http-equiv": "Content-Security-Policy", "content": "script-src 'none'"} in head.named("meta")
    assert "<title>Café menu</title>" in text
    assert ".markdown-body" in text and "<style>" in text  # the stylesheet travels with the page
    assert "<title>notes</title>" in render_document("no heading at all", "notes").decode()


def test_a_markdown_file_is_loaded_as_its_rendered_page(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_bytes(b"\xef\xbb\xbfJust *text*, caf\xc3\xa9.\n")
    page = page_of(load(path, "md"))
    assert "<p>Just <em>text</em>, café.</p>" in page and "<title>guide</title>" in page

    path.write_bytes("Ancien fichier: été\n".encode("cp1252"))  # not UTF-8: Windows' own
    assert "été" in page_of(load(path, "md"))


# -- {{ toHTML "file.md" }} ---------------------------------------------------------------------


def bundle(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "notes.htmlz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_placeholders_in_a_bundle_are_filled_with_their_markdown(tmp_path: Path) -> None:
    index = (
        b'<html><body>{{ toHTML "intro.md" }}<hr>{{toHTML "docs/table.md"}}<p>{{ .Other }}</p></body></html>'
    )
    members = {"index.html": index, "intro.md": b"# Hello", "docs/table.md": b"| a |\n|---|\n| 1 |\n"}
    page = page_of(load(bundle(tmp_path, members), "htmlz"))
    assert '<h1 id="hello">Hello</h1>' in page
    assert "<td>1</td>" in page
    assert "{{ .Other }}" in page  # only toHTML is a placeholder: nothing else is template logic


def test_markdown_goes_into_a_page_of_any_encoding_as_ascii() -> None:
    page = '<meta charset="iso-8859-1"><p>déjà</p>{{ toHTML "a.md" }}'.encode("latin-1")
    expanded = expand_placeholders(page, {"a.md": "Ünïcode → ok".encode()}, "x.htmlz")
    assert expanded.startswith(page[: page.index(b"{{")])
    assert b"&#220;n&#239;code &#8594; ok" in expanded


def test_a_placeholder_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    path = bundle(tmp_path, {"index.html": b'{{ toHTML "missing.md" }}'})
    with pytest.raises(ConversioError) as info:
        load(path, "htmlz")
    assert info.value.code == "INVALID_REQUEST"
    assert "notes.htmlz" in info.value.message and "missing.md" in info.value.message


def test_an_html_page_alone_is_never_templated(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b'<p>{{ toHTML "a.md" }}</p>')
    assert page_of(load(path, "html")) == '<p>{{ toHTML "a.md" }}</p>'


def test_the_stylesheet_is_package_data_made_for_print() -> None:
    css = stylesheet()
    assert "@media print" in css and "white-space: pre-wrap" in css  # long code lines wrap on paper
