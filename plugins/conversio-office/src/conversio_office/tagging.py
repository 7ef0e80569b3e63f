"""Checks of a tagged or PDF/UA PDF that LibreOffice wrote, before it is returned.

LibreOffice 7.4 checks nothing itself when it exports PDF/UA: it tags what the document's
structure says (paragraph styles and outline levels, lists, tables, pictures with their
descriptions) and writes the PDF/UA identification whatever the content. These checks catch
what conversio can see: the marks a tagged PDF needs, the identification, a language and a
shown title, and every picture's alternative text (the author's to write: a picture without
one makes the file fail PDF/UA). They read LibreOffice's bytes as written (no object streams,
uncompressed dictionaries and XMP), so they are for LibreOffice's output only.
"""

from __future__ import annotations

import re

from conversio.errors import ConversionFailed

_MARKED = re.compile(rb"/MarkInfo\s*<<[^>]*/Marked\s+true")
_STRUCTURE = re.compile(rb"/StructTreeRoot\s+\d+\s+\d+\s+R")
_LANGUAGE = re.compile(rb"/Lang\s*[(<]")
_TITLE_SHOWN = re.compile(rb"/DisplayDocTitle\s+true")
_PDFUA_1 = re.compile(rb"pdfuaid:part(?:>|\s*=\s*[\"'])1\b")
_TITLE = re.compile(rb"<dc:title>")
_FIGURE = re.compile(rb"/S\s*/Figure(?![A-Za-z])")
_OBJECT_END = re.compile(rb"\bendobj\b")


def _figures_without_text(data: bytes) -> int:
    """How many Figure structure elements carry no ``/Alt`` text."""
    return sum(1 for part in _OBJECT_END.split(data) if _FIGURE.search(part) and b"/Alt" not in part)


def tagging_problems(data: bytes, pdfua: bool) -> list[str]:
    """What keeps LibreOffice's PDF ``data`` from being tagged (or PDF/UA-1 with ``pdfua``)."""
    problems = []
    if not (_MARKED.search(data) and _STRUCTURE.search(data)):
        problems.append("it is not tagged")
    if not pdfua:
        return problems
    for pattern, problem in (
        (_PDFUA_1, "its metadata does not identify it as PDF/UA-1"),
        (_LANGUAGE, "it has no language"),
        (_TITLE, "it has no title"),
        (_TITLE_SHOWN, "its viewer preferences do not show its title"),
    ):
        if not pattern.search(data):
            problems.append(problem)
    bare = _figures_without_text(data)
    if bare:
        problems.append(
            f"{bare} picture{'s have' if bare > 1 else ' has'} no alternative text "
            "(give each picture a description in the document)"
        )
    return problems


def check_tagging(data: bytes, name: str, pdfua: bool) -> None:
    """``CONVERSION_FAILED`` naming ``name`` unless LibreOffice's PDF passes every check."""
    problems = tagging_problems(data, pdfua)
    if problems:
        wanted = "PDF/UA" if pdfua else "a tagged PDF"
        raise ConversionFailed(
            f"{name} could not be made {wanted}: {'; '.join(problems)}",
            file=name,
            problems=problems,
            final=True,
        )
