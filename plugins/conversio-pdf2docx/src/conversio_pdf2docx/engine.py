"""pdf2docx at work, in a process of its own: ``python -m conversio_pdf2docx.engine OUTCOME``.

The worker starts this module under the engine's memory cap and kills it at the step's
timeout (see :mod:`conversio_pdf2docx.convert`), so that PyMuPDF never runs inside the
worker. It reads a :class:`Job` as JSON on standard input (the password stays off the
command line), converts, checks the Word document it wrote, and writes the outcome as
JSON to the file ``OUTCOME``: ``{"warnings": [...]}``, or ``{"error": {...}}`` holding a
:class:`~conversio.errors.ConversioError` whose message speaks of the user's file only.
Whatever else it prints goes to a log the user never sees.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from conversio.errors import (
    ConversioError,
    ConversionFailed,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    InvalidPassword,
)
from conversio.pages import parse_pages
from conversio_pdf2docx.layer import TextLayer, words
from conversio_pdf2docx.workbook import tables_of, write_workbook

#: Below this share of the text layer's words in the result, the result is refused.
MIN_KEPT = 0.5
#: Below this share, the result is returned with a warning.
WARN_KEPT = 0.9
_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")
#: What PyMuPDF and Python say when an allocation fails (under the cap: the input needs too much).
_MEMORY_MARKS = ("out of memory", "cannot allocate", "malloc", "failed to map segment")
#: MuPDF's errors (``pymupdf.mupdf.FzError*``) for a file it cannot parse.
_DAMAGE = frozenset({"FzErrorFormat", "FzErrorSyntax", "FzErrorRepaired"})
_ADVICE = "get a complete copy of it, or export it again from the application that made it"
logger = logging.getLogger(__name__)


@attrs.frozen
class Job:
    """One conversion: ``source`` PDF to ``target``, a ``format`` (docx or xlsx) file, ``name``
    being the user's name for the PDF."""

    source: str
    target: str
    format: str
    name: str
    max_pages: int
    max_pixels: int
    password: str | None = None
    pages: str | None = None
    borderless_tables: bool = False


def open_converter(job: Job) -> Any:
    """pdf2docx's converter of ``job.source``, decrypted; damage and passwords as clear errors."""
    from pdf2docx import Converter  # type: ignore[import-untyped]

    try:
        converter = Converter(job.source)
    except (RuntimeError, ValueError) as exc:  # PyMuPDF's FileDataError is a RuntimeError
        logger.warning("PyMuPDF cannot open %s: %s", job.name, exc)
        raise CorruptFile(
            f"{job.name} cannot be read as a PDF: it is damaged; {_ADVICE}", file=job.name
        ) from None
    document = converter.fitz_doc
    if document.needs_pass:  # pdf2docx authenticates again with the form that opened it
        converter.password = unlock(document, job.name, job.password)
    return converter


def unlock(document: Any, name: str, password: str | None) -> str:
    """Authenticate ``document`` with the password as typed, then in Unicode's compatibility form;
    the form that opened it."""
    if not password:
        raise InvalidPassword(f"{name} is encrypted: give its password (option 'password')", file=name)
    for form in dict.fromkeys((password, unicodedata.normalize("NFKC", password))):
        if document.authenticate(form):
            return form
    raise InvalidPassword(f"{name}: the password is wrong; check it and try again", file=name)


def check_pages(document: Any, job: Job) -> int:
    """The page count; ``FILE_TOO_LARGE`` above the limit, ``EMPTY_FILE`` or ``CORRUPT_FILE`` for none."""
    count = int(document.page_count)
    if count > job.max_pages:
        raise FileTooLarge(
            f"{job.name} has {count} pages, more than the limit of {job.max_pages}",
            file=job.name,
            pages=count,
            limit=job.max_pages,
        )
    if count == 0:
        if document.is_repaired:
            raise CorruptFile(f"{job.name} cannot be read as a PDF: it is damaged; {_ADVICE}", file=job.name)
        raise EmptyFile(f"{job.name} has no pages: there is nothing to convert", file=job.name)
    return count


def check_sizes(document: Any, indexes: list[int], job: Job) -> None:
    """``FILE_TOO_LARGE`` for a page larger than ``job.max_pixels`` at 72 dpi (pdf2docx draws
    whole pages at that resolution to find their shapes)."""
    for index in indexes:
        rect = document[index].rect
        if rect.width * rect.height > job.max_pixels:
            size = f"{rect.width / 72 * 2.54:.0f} x {rect.height / 72 * 2.54:.0f} cm"
            raise FileTooLarge(
                f"{job.name}: page {index + 1} is {size}, larger than the limit of "
                f"{job.max_pixels:,} pixels allows",
                file=job.name,
                page=index + 1,
                limit=job.max_pixels,
            )


def docx_words(path: Path) -> Counter[str]:
    """The words of the Word document at ``path`` (its body, tables and text boxes)."""
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("word/document.xml")
    return words(" ".join(match.decode("utf-8") for match in _TEXT.findall(xml)))


def convert(job: Job) -> list[str]:
    """Convert ``job``; the warnings for the user."""
    converter = open_converter(job)
    try:
        document = converter.fitz_doc
        indexes = sorted(set(parse_pages(job.pages, check_pages(document, job))))  # in page order, each once
        check_sizes(document, indexes, job)
        layer = TextLayer.read(document, indexes)
        warnings = layer.judge(job.name)
        if document.is_repaired:
            warnings.append(f"{job.name} is damaged and was repaired: check that nothing is missing")
        settings = {
            "multi_processing": False,
            "parse_stream_table": job.borderless_tables,
            "extract_stream_table": job.borderless_tables,
            "ignore_page_error": False,
        }
        if job.format == "xlsx":
            write_tables(tables_of(converter, indexes, settings), job)
            return warnings
        converter.convert(job.target, pages=indexes, **settings)
    finally:
        converter.close()
    return warnings + check_kept(layer, job)


def write_tables(tables: list[Any], job: Job) -> None:
    """The workbook of ``tables``; a PDF without any is refused."""
    if not tables:
        advice = (
            "" if job.borderless_tables else " (tables drawn with lines; borderless_tables=true finds others)"
        )
        raise ConversionFailed(
            f"{job.name} has no table to put in a workbook{advice}", file=job.name, tables=0, final=True
        )
    write_workbook(tables, Path(job.target))


def check_kept(layer: TextLayer, job: Job) -> list[str]:
    """Refuse a Word document that lost most of the text layer's words; warn when it lost some."""
    kept = layer.kept(docx_words(Path(job.target)))
    missing = f"{1 - kept:.0%} of the words of {job.name} are missing in the Word document"
    hint = "(text set vertically or sideways, or drawn inside figures, is not kept as text)"
    if kept < MIN_KEPT:
        raise ConversionFailed(
            f"{missing} {hint}, so it was not made", file=job.name, kept=round(kept, 3), final=True
        )
    return [f"{missing} {hint}"] if kept < WARN_KEPT else []


def outcome(job: Job) -> dict[str, Any]:
    """What :func:`convert` gave, as JSON: its warnings or the error."""
    try:
        return {"warnings": convert(job)}
    except ConversioError as error:
        failure = error
    except Exception as exc:  # pdf2docx's own failures: their words (paths, internals) go to the log only
        logger.warning("pdf2docx failed on %s", job.name, exc_info=True)
        failure = unexpected(job.name, exc)
    return {"error": failure.to_dict()}


def unexpected(name: str, exc: Exception) -> ConversioError:
    """The error for ``name`` when pdf2docx or PyMuPDF raised ``exc`` (pdf2docx wraps what a page
    raised: the exceptions it was raised from are looked at too)."""
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(chain) < 8:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if any(isinstance(link, MemoryError) or memory_failure(str(link)) for link in chain):
        return FileTooLarge(
            f"{name}: converting it needs more memory than the limit allows", file=name, limit="memory"
        )
    if any(type(link).__name__ in _DAMAGE for link in chain):
        return CorruptFile(f"{name} cannot be read as a PDF: some of it is damaged; {_ADVICE}", file=name)
    return ConversionFailed(
        f"{name} could not be converted: its layout could not be rebuilt", file=name, final=True
    )


def memory_failure(message: str) -> bool:
    return any(mark in message.lower() for mark in _MEMORY_MARKS)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
    job = Job(**json.loads(sys.stdin.read()))
    Path(argv[0]).write_text(json.dumps(outcome(job)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
