"""Checks a PDF/A-1b, -2b or -3b file must pass before it is called one.

These are a subset of PDF/A's requirements (ISO 19005), the ones a wrong engine setting
or a dropped feature would break: the PDF/A identification in the XMP metadata, an
output intent with its ICC profile, every font embedded, no encryption, and the page
count kept. They do not replace a full validator.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pikepdf

from conversio.errors import ConversionFailed

#: Font dictionaries that carry no font program of their own (a Type0's is in its descendant,
#: a Type3's glyphs are content streams).
_WITHOUT_PROGRAM = ("/Type0", "/Type3")
_PROGRAMS = ("/FontFile", "/FontFile2", "/FontFile3")
_FONT_SUBTYPES = ("/Type1", "/MMType1", "/TrueType", "/Type0", "/Type3", "/CIDFontType0", "/CIDFontType2")


def _is_font(obj: pikepdf.Dictionary) -> bool:
    if obj.get("/Type") == pikepdf.Name.Font:
        return True
    return "/BaseFont" in obj and str(obj.get("/Subtype")) in _FONT_SUBTYPES


def _direct_parts(obj: pikepdf.Object) -> Iterator[pikepdf.Object]:
    """``obj`` and every object written inside it (not those it refers to)."""
    yield obj
    if isinstance(obj, pikepdf.Array):
        children = list(obj)
    elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
        children = [value for _key, value in obj.items()]
    else:
        return
    for child in children:
        if isinstance(child, (pikepdf.Array, pikepdf.Dictionary)) and not child.is_indirect:
            yield from _direct_parts(child)


def _fonts(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    for obj in pdf.objects:
        for part in _direct_parts(obj):
            if isinstance(part, pikepdf.Dictionary) and _is_font(part):
                yield part


def _embedded(font: pikepdf.Dictionary) -> bool:
    if str(font.get("/Subtype")) in _WITHOUT_PROGRAM:
        return True
    descriptor = font.get("/FontDescriptor")
    return isinstance(descriptor, pikepdf.Dictionary) and any(key in descriptor for key in _PROGRAMS)


def _identified(pdf: pikepdf.Pdf, level: str) -> bool:
    meta = pdf.open_metadata()
    part, conformance = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
    return (str(part), str(conformance).lower()) == (level[0], level[1:])


def _output_intent(pdf: pikepdf.Pdf) -> bool:
    intents = pdf.Root.get("/OutputIntents")
    return isinstance(intents, pikepdf.Array) and any(
        isinstance(intent, pikepdf.Dictionary)
        and intent.get("/S") == pikepdf.Name.GTS_PDFA1
        and isinstance(intent.get("/DestOutputProfile"), pikepdf.Stream)
        for intent in intents
    )


def pdfa_problems(pdf: pikepdf.Pdf, level: str, pages: int) -> list[str]:
    """What keeps ``pdf`` from being a PDF/A-``level`` of a ``pages``-page input (empty: none)."""
    problems = []
    if pdf.is_encrypted:
        problems.append("it is encrypted")
    if not _identified(pdf, level):
        problems.append(f"its metadata does not identify it as PDF/A-{level}")
    if not _output_intent(pdf):
        problems.append("it has no output intent with a colour profile")
    missing = sorted(
        {str(font.get("/BaseFont", "unnamed")).lstrip("/") for font in _fonts(pdf) if not _embedded(font)}
    )
    if missing:
        problems.append(f"fonts are not embedded ({', '.join(missing)})")
    if len(pdf.pages) != pages:
        problems.append(f"it has {len(pdf.pages)} pages instead of {pages}")
    return problems


def check_pdfa(path: Path, name: str, level: str, pages: int) -> None:
    """``CONVERSION_FAILED`` naming ``name`` unless the PDF at ``path`` passes every check."""
    try:
        with pikepdf.open(path) as pdf:
            problems = pdfa_problems(pdf, level, pages)
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        problems = [f"the result could not be read ({type(exc).__name__})"]
    if problems:
        raise ConversionFailed(
            f"{name} could not be made PDF/A-{level}: {'; '.join(problems)}",
            file=name,
            problems=problems,
            final=True,
        )
