"""The formats conversio-pandoc declares, and the names Pandoc gives the ones it reads and writes.

The five text formats are recognised by their extension (their content is plain text with no
signature): text named ``notes.rst`` is reStructuredText, and a binary file named so is refused
by the core's sniffing as any text format is. ``textpack`` is the TextBundle format's zipped
form (``text.md``, an ``assets/`` folder with the images, ``info.json``), which Markdown editors
(Bear, Ulysses, iA Writer...) read: the shape of a Markdown document with its images.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from conversio.formats import Format, Kind

RST = Format(
    "rst",
    Kind.TEXT,
    "reStructuredText document",
    ("rst", "rest"),
    ("text/x-rst",),
    ("rest", "restructuredtext"),
)
LATEX = Format(
    "latex",
    Kind.TEXT,
    "LaTeX document",
    ("tex", "latex", "ltx"),
    ("application/x-tex", "text/x-tex"),
    ("tex",),
)
ORG = Format("org", Kind.TEXT, "Org document", ("org",), ("text/org", "text/x-org"), ("orgmode",))
TEXTILE = Format("textile", Kind.TEXT, "Textile document", ("textile",), ("text/x-textile",))
ASCIIDOC = Format(
    "asciidoc", Kind.TEXT, "AsciiDoc document", ("adoc", "asciidoc"), ("text/asciidoc",), ("adoc",)
)
TEXTPACK = Format(
    "textpack",
    Kind.DOCUMENT,
    "Markdown with its images (TextBundle zip: text.md and assets/)",
    ("textpack",),
    ("application/x-textpack",),
)
DECLARED = (RST, LATEX, ORG, TEXTILE, ASCIIDOC, TEXTPACK)
_ZIP = b"PK\x03\x04"

#: Markdown flavours, by the option's value, as Pandoc names them.
FLAVOURS = {"gfm": "gfm", "commonmark": "commonmark", "pandoc": "markdown"}
#: Pandoc's name of every other format it reads or writes here (md: by flavour).
_PANDOC_NAMES = {
    "rst": "rst",
    "html": "html",
    "docx": "docx",
    "odt": "odt",
    "epub": "epub",
    "latex": "latex",
    "org": "org",
    "textile": "textile",
    "asciidoc": "asciidoc",
    "txt": "plain",
}
#: What Pandoc reads, and what it writes, among conversio's formats.
READS = ("md", "rst", "html", "docx", "odt", "epub", "latex", "org", "textile", "asciidoc")
WRITES = ("md", "rst", "html", "docx", "odt", "epub", "latex", "org", "textile", "asciidoc", "txt")
#: Zips that carry their images inside: checked before Pandoc opens them, and converted to
#: ``textpack`` too.
WITH_MEDIA = ("docx", "odt", "epub")


def pandoc_name(fmt: str, flavour: str) -> str:
    """Pandoc's reader or writer name for conversio's ``fmt`` (``md`` in ``flavour``)."""
    if fmt in ("md", "textpack"):
        return FLAVOURS[flavour]
    return _PANDOC_NAMES[fmt]


def sniff(head: bytes, path: Path, name: str) -> str | None:
    """``textpack`` for a zip named ``*.textpack`` that holds a TextBundle's ``info.json`` and
    text at its root (its name alone does not make a zip one)."""
    if not head.startswith(_ZIP) or not name.lower().endswith(".textpack"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    has_text = any(n.startswith("text.") and "/" not in n for n in names)
    return "textpack" if "info.json" in names and has_text else None
