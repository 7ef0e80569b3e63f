"""Every converter of conversio-pandoc, as ConverterSpecs (no engine imported).

Costs keep the better engine winning where two could do a job. LibreOffice (3.0) converts Word
and OpenDocument to each other and to PDF: Pandoc's docx <-> odt (3.25) is only a fallback, and
everything Pandoc makes of an office file costs 3.5, so that no chain through Pandoc undercuts
LibreOffice either: not docx -> html -> odt (4.5), nor docx -> md -> jpg by Chromium (5.5, against
docx -> pdf -> jpg, 5.0), which would draw the text without the document's layout and pictures.
A direct Pandoc conversion always costs less than a chain of two (which would lose what the middle
format cannot hold, such as images).
Of the rest, Word and OpenDocument (1.0) are the cheapest targets and HTML (1.2) the next:
with Chromium (2.0) a document goes to PDF through HTML (3.2), without it through Word and
LibreOffice (4.0) rather than through LibreOffice's HTML import (4.2).
"""

from __future__ import annotations

from conversio.converters import ConverterSpec
from conversio.options import Option, OptionsSchema
from conversio_pandoc.formats import FLAVOURS, READS, WITH_MEDIA, WRITES

FAMILY = "pandoc"
INSTALL_HINT = "pip install conversio-pandoc (it brings Pandoc in the pypandoc-binary wheel)"
FLAVOUR = Option(
    "flavour",
    "str",
    default="gfm",
    choices=tuple(FLAVOURS),
    help="the Markdown read or written: gfm (GitHub), commonmark, or pandoc (Pandoc's own, the richest)",
)
TOC = Option("toc", "bool", default=False, help="add a table of contents made from the headings")
OFFICE = ("docx", "odt")
#: What each target costs, from a source that is not an office format.
_COSTS = {"html": 1.2, "docx": 1.0, "odt": 1.0, "epub": 2.5}
TEXT_COST = 1.5
FROM_OFFICE_COST = 3.5
OFFICE_TO_OFFICE_COST = 3.25
_RUN = {"textpack": "conversio_pandoc.convert:to_textpack"}


def cost(source: str, target: str) -> float:
    """The cost of Pandoc's ``source`` -> ``target``."""
    if source in OFFICE:
        return OFFICE_TO_OFFICE_COST if target in OFFICE else FROM_OFFICE_COST
    return _COSTS.get(target, TEXT_COST)


def pairs() -> list[tuple[str, str]]:
    """Every (source, target) Pandoc converts here."""
    found = [(s, t) for s in READS for t in WRITES if s != t]
    return found + [(source, "textpack") for source in WITH_MEDIA]


def spec(source: str, target: str) -> ConverterSpec:
    options = (FLAVOUR, TOC) if "md" in (source, target) or target == "textpack" else (TOC,)
    return ConverterSpec(
        id=f"{FAMILY}:{source}->{target}",
        source=source,
        target=target,
        run=_RUN.get(target, "conversio_pandoc.convert:convert"),
        options=OptionsSchema(options),
        cost=cost(source, target),
        lossy=True,
        install_hint=INSTALL_HINT,
        description=f"{source} to {target} by Pandoc",
    )


def all_specs() -> list[ConverterSpec]:
    return [spec(source, target) for source, target in pairs()]
