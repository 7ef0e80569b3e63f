"""Markdown rendered to HTML as GitHub renders it (markdown-it-py with its GFM plugin).

Tables, fenced code, strikethrough, task lists, autolinks (``www.x.org``, bare ``https://``
addresses), alerts (``> [!NOTE]``) and footnotes; headings get GitHub's ids, so a README's
table of contents links work in the PDF.

Raw HTML in Markdown is kept (READMEs use ``<img width=…>``, ``<details>``, ``<br>``), less
the tags GitHub's *disallowed raw HTML* rule escapes (``<script>``, ``<style>``, ``<iframe>``,
``<title>``, ``<textarea>``, ``<xmp>``, ``<noembed>``, ``<noframes>``, ``<plaintext>``): they
show as text. A Markdown document is for reading, not running: a README's script is rarely
meant to run on a server, so the document's Content-Security-Policy also forbids every
script (``onerror=`` attributes included), whatever the ``javascript`` option says.

Gotenberg's convention for a page with its files is :func:`expand_placeholders`: each
``{{ toHTML "notes.md" }}`` in ``index.html`` becomes that file rendered.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib.resources import files as package_files
from typing import TYPE_CHECKING, Any

from conversio.errors import InvalidRequest

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

#: The most bytes of Markdown rendered (markdown-it-py reads about 1 MB a second).
MAX_MARKDOWN_SIZE = 8 * 1024 * 1024

_DISALLOWED = re.compile(
    r"<(/?(?:title|textarea|style|xmp|iframe|noembed|noframes|script|plaintext))(?=[\s/>]|$)", re.IGNORECASE
)
_PLACEHOLDER = re.compile(rb'\{\{\s*toHTML\s+"([^"{}]+)"\s*\}\}')

_DOCUMENT = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="script-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{style}</style>
</head>
<body>
<main class="markdown-body">
{body}</main>
</body>
</html>
"""


def render_fragment(text: str) -> str:
    """``text`` (Markdown) as HTML to put inside a page's ``<body>``."""
    rendered: str = _parser().render(text)
    return rendered


def render_document(text: str, title: str) -> bytes:
    """``text`` as a complete UTF-8 HTML page with the stylesheet; its title is the first
    heading, else ``title``."""
    parser = _parser()
    tokens = parser.parse(text)
    return _DOCUMENT.format(
        title=html.escape(_first_heading(tokens) or title),
        style=stylesheet(),
        body=parser.renderer.render(tokens, parser.options, {}),
    ).encode("utf-8")


def expand_placeholders(page: bytes, files: Mapping[str, bytes], name: str) -> bytes:
    """``page`` with each ``{{ toHTML "file.md" }}`` replaced by that file of the bundle
    ``name`` rendered. The HTML is inserted in ASCII (other characters as references), so it
    reads right whatever the page's encoding. A file not in the bundle is ``INVALID_REQUEST``."""

    def rendered(match: re.Match[bytes]) -> bytes:
        wanted = match.group(1).decode("utf-8", errors="replace")
        if wanted not in files:
            raise InvalidRequest(
                f"{name}: index.html includes {wanted} (toHTML), but no file of that name came with it",
                file=name,
                member=wanted,
            )
        return render_fragment(decode_markdown(files[wanted])).encode("ascii", "xmlcharrefreplace")

    return _PLACEHOLDER.sub(rendered, page)


def decode_markdown(data: bytes) -> str:
    """Markdown's text: UTF-8 (or UTF-16 with its byte order mark), else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


@cache
def stylesheet() -> str:
    """The default stylesheet of rendered Markdown."""
    return package_files("conversio_chromium").joinpath("styles/markdown.css").read_text(encoding="utf-8")


@cache
def _parser() -> MarkdownIt:
    # Imported on first use: sniffing imports this plugin's inputs, and needs no Markdown.
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.gfm import gfm_plugin

    parser = MarkdownIt("commonmark").use(gfm_plugin).use(anchors_plugin, max_level=6)
    parser.add_render_rule("html_block", _filtered_html)
    parser.add_render_rule("html_inline", _filtered_html)
    return parser


def _filtered_html(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    """Raw HTML as written, with GitHub's disallowed tags shown as text."""
    return _DISALLOWED.sub(r"&lt;\1", tokens[idx].content)


def _first_heading(tokens: Sequence[Token]) -> str:
    """The plain text of the document's first heading ("" if it has none)."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            children = tokens[index + 1].children or []
            return "".join(c.content for c in children if c.type in ("text", "code_inline")).strip()
    return ""
