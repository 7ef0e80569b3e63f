"""Checks a PDF/A-1b, -2b or -3b file must pass before it is called one.

These are a subset of PDF/A's requirements (ISO 19005), the ones a wrong engine setting
or a dropped feature would break: the PDF/A identification in the XMP metadata, an
output intent with its ICC profile, every font embedded, every annotation printable and
drawn, no encryption, and the pages kept (their count and their size as shown). When
``pikepdf[pdfa]`` is installed, pikepdf's PDF/A validator must find no violation either; it
approves only what it knows, and what it cannot check is left to these checks. Neither is a full
validator such as veraPDF. :func:`changed_text` compares the text of the pages before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium  # type: ignore[import-untyped]

from conversio.errors import ConversionFailed

#: Font dictionaries that carry no font program of their own (a Type0's is in its descendant,
#: a Type3's glyphs are content streams).
_WITHOUT_PROGRAM = ("/Type0", "/Type3")
_PROGRAMS = ("/FontFile", "/FontFile2", "/FontFile3")
#: Annotation flags: Print, and those PDF/A forbids (Invisible, Hidden, NoView, ToggleNoView).
PRINT, HIDDEN = 4, 1 | 2 | 32 | 256
#: Annotations PDF/A lets go without an appearance stream.
WITHOUT_APPEARANCE = (pikepdf.Name.Link, pikepdf.Name.Popup)
#: How far (in points) a page's size may move before it counts as changed.
_SIZE_TOLERANCE = 1.0
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


Size = tuple[float, float]


def shown_sizes(pdf: pikepdf.Pdf) -> list[Size]:
    """Each page's width and height in points as a viewer shows it (``/Rotate`` applied)."""
    sizes = []
    for page in pdf.pages:
        box = [float(value) for value in page.mediabox]
        width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
        rotate = page.obj.get("/Rotate", 0)
        turned = isinstance(rotate, int) and rotate % 180 == 90
        sizes.append((height, width) if turned else (width, height))
    return sizes


def has_appearance(annotation: pikepdf.Dictionary) -> bool:
    appearance = annotation.get("/AP")
    return isinstance(appearance, pikepdf.Dictionary) and "/N" in appearance


def flags_of(annotation: pikepdf.Dictionary) -> int:
    flags = annotation.get("/F", 0)
    return flags if isinstance(flags, int) else 0


def _bad_annotations(pdf: pikepdf.Pdf) -> int:
    """How many annotations are not printable, are hidden, or (Link and Popup aside) are not drawn."""
    bad = 0
    for page in pdf.pages:
        for annotation in page.obj.get("/Annots", pikepdf.Array()):
            if not isinstance(annotation, pikepdf.Dictionary):
                continue
            if annotation.get("/Subtype") == pikepdf.Name.Popup:
                continue
            flags = flags_of(annotation)
            drawn = annotation.get("/Subtype") in WITHOUT_APPEARANCE or has_appearance(annotation)
            bad += not (flags & PRINT) or bool(flags & HIDDEN) or not drawn
    return bad


def _resized(before: list[Size], after: list[Size]) -> list[int]:
    return [
        number
        for number, (old, new) in enumerate(zip(before, after, strict=True), start=1)
        if any(abs(a - b) > _SIZE_TOLERANCE for a, b in zip(old, new, strict=True))
    ]


def pdfa_problems(pdf: pikepdf.Pdf, level: str, sizes: list[Size]) -> list[str]:
    """What keeps ``pdf`` from being a PDF/A-``level`` of an input whose pages have ``sizes``
    (empty: nothing)."""
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
    bad = _bad_annotations(pdf)
    if bad:
        problems.append(f"{bad} annotation{'s are' if bad > 1 else ' is'} hidden, not printable or not drawn")
    if len(pdf.pages) != len(sizes):
        problems.append(f"it has {len(pdf.pages)} pages instead of {len(sizes)}")
    else:
        resized = _resized(sizes, shown_sizes(pdf))
        if resized:
            problems.append(f"the size or orientation of page {', '.join(map(str, resized[:5]))} changed")
    return problems


def violations(path: Path, level: str) -> list[str]:
    """The PDF/A rules (veraPDF's rule ids) pikepdf's validator finds the file at ``path`` breaking,
    when ``pikepdf[pdfa]`` is installed. What it does not know how to check is not counted."""
    try:
        from pikepdf import pdfa as validator
    except ImportError:
        return []
    report = validator.validate_written(path, level)
    rules = sorted({finding.rule for finding in report.findings if finding.kind == "violation"})
    return [f"it breaks PDF/A rule {rule}" for rule in rules]


def check_pdfa(path: Path, name: str, level: str, sizes: list[Size]) -> None:
    """``CONVERSION_FAILED`` naming ``name`` unless the PDF at ``path`` passes every check."""
    try:
        with pikepdf.open(path) as pdf:
            problems = pdfa_problems(pdf, level, sizes)
        problems += violations(path, level)
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        problems = [f"the result could not be read ({type(exc).__name__})"]
    if problems:
        raise ConversionFailed(
            f"{name} could not be made PDF/A-{level}: {'; '.join(problems)}",
            file=name,
            problems=problems,
            final=True,
        )


def _page_texts(path: Path) -> list[str]:
    document = pdfium.PdfDocument(path)
    try:
        return [" ".join(page.get_textpage().get_text_range().split()) for page in document]
    finally:
        document.close()


def changed_text(before: Path, after: Path) -> list[int]:
    """The numbers of the pages whose text (as extracted, spacing aside) differs between the PDFs."""
    return [
        number
        for number, (old, new) in enumerate(
            zip(_page_texts(before), _page_texts(after), strict=False), start=1
        )
        if old != new
    ]
