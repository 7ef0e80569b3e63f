"""Every converter of conversio-pandoc, as ConverterSpecs (no engine imported).

Costs keep the better engine winning where two could do a job: LibreOffice (3.0) converts
Word and OpenDocument to each other and to PDF, so Pandoc's docx <-> odt (4.0) is only a
fallback; HTML (1.2) is the cheapest thing Pandoc writes, so a document goes to PDF through
HTML and Chromium (2.0) rather than through Markdown or Word (HTML made of a document with
images carries them inline).
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
#: What each target costs, unless both ends are office formats.
_COSTS = {"html": 1.2, "docx": 2.5, "odt": 2.5, "epub": 2.5}
TEXT_COST = 1.5
OFFICE_TO_OFFICE_COST = 4.0
_RUN = {"textpack": "conversio_pandoc.convert:to_textpack"}


def cost(source: str, target: str) -> float:
    """The cost of Pandoc's ``source`` -> ``target``."""
    if source in OFFICE and target in OFFICE:
        return OFFICE_TO_OFFICE_COST
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
