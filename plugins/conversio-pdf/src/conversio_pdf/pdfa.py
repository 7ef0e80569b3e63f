"""PDF/A-1b, -2b or -3b of a PDF, by pikepdf's PDF/A writer or by Ghostscript, checked before it
is returned.

The input is opened with pikepdf first (its password, its damage, its page count are
handled as every other operation handles them); annotations PDF/A cannot keep (hidden, or
without a drawn appearance) are removed, the others made printable, and a plain, decrypted
copy is staged in a private temporary folder. When pikepdf's PDF/A support is installed
(``pikepdf[pdfa]``), its writer declares PDF/A on that copy without touching the pages, and is
used when its validator approves the file it wrote: nothing is redrawn, tags and links stay.
Otherwise Ghostscript rewrites the copy with ``-dSAFER`` (it may read its arguments and write
its output, nothing else), under the engine's address-space cap and the pdf family's timeout;
an sRGB output intent (the profile Ghostscript ships) is added by a few pdfmarks. Either
result reaches the user only when :func:`~conversio_pdf.pdfa_check.check_pdfa` finds it
conforms; pages whose text extracts differently afterwards are named in a warning.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pikepdf

from conversio.converters import ConversionRequest, Output
from conversio.errors import (
    ConversioError,
    ConversionFailed,
    FileTooLarge,
    MissingDependency,
    Timeout,
    engine_stopped,
)
from conversio.limits import ENGINE_ENV, engine_preexec
from conversio_pdf.documents import open_pdf, write_pdf
from conversio_pdf.pdfa_check import (
    HIDDEN,
    PRINT,
    WITHOUT_APPEARANCE,
    changed_text,
    check_pdfa,
    flags_of,
    has_appearance,
    shown_sizes,
)
from conversio_pdf.specs import GHOSTSCRIPT_HINT as INSTALL_HINT

#: The output intent: an sRGB profile (its path in ``PDFA_ICC``) as the catalog's /OutputIntents.
_INTENT = b"""
[/_objdef {conversio_icc} /type /stream /OBJ pdfmark
[{conversio_icc} << /N 3 >> /PUT pdfmark
[{conversio_icc} PDFA_ICC (r) file /PUT pdfmark
[/_objdef {conversio_intent} /type /dict /OBJ pdfmark
[{conversio_intent} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {conversio_icc}
  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) >> /PUT pdfmark
[{Catalog} << /OutputIntents [ {conversio_intent} ] >> /PUT pdfmark
"""
#: What Ghostscript prints when an allocation fails (under its cap: the input needs too much memory).
_MEMORY_MARKS = ("vmerror", "cannot allocate", "out of memory")
#: What Ghostscript prints, exiting happily, when it could not read the pages (it writes a blank one).
_UNREAD_MARKS = ("no pages will be processed",)
logger = logging.getLogger(__name__)


def ghostscript() -> str:
    """The path of ``gs``; ``MISSING_DEPENDENCY`` with the install hint."""
    found = shutil.which("gs")
    if found is None:
        raise MissingDependency(
            f"Ghostscript is not installed; {INSTALL_HINT}", module="gs", install_hint=INSTALL_HINT
        )
    return found


@functools.cache
def srgb_profile(gs: str) -> str:
    """The sRGB ICC profile that ``gs`` ships (in its ICCProfilesDir)."""
    query = "currentuserparams /ICCProfilesDir get print flush quit"
    try:
        folder = subprocess.run(
            [gs, "-q", "-dSAFER", "-dNODISPLAY", "-dNOPAUSE", "-dBATCH", "-c", query],
            capture_output=True,
            timeout=30,
            check=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        folder = ""
    profile = Path(folder) / "srgb.icc"
    if not folder or not profile.is_file():
        raise MissingDependency(
            f"Ghostscript's sRGB colour profile is missing; {INSTALL_HINT}",
            module="gs",
            install_hint=INSTALL_HINT,
        )
    return str(profile)


def command(gs: str, level: str, intent: Path, source: Path, target: Path) -> list[str]:
    """Ghostscript's command line for PDF/A-``level`` of ``source`` into ``target``."""
    return [
        gs,
        "-q",
        "-dSAFER",
        "-dNOPAUSE",
        "-dBATCH",
        "-sDEVICE=pdfwrite",
        f"-dPDFA={level[0]}",
        "-dPDFACompatibilityPolicy=1",  # drop what PDF/A forbids (the check refuses what is left)
        "-dAutoRotatePages=/None",  # keep each page's orientation (not guessed from its text)
        "-sColorConversionStrategy=RGB",
        f"-sPDFA_ICC={srgb_profile(gs)}",
        f"-sOutputFile={target}",
        str(intent),
        str(source),
    ]


def pdfa(request: ConversionRequest) -> list[Output]:
    """The input as PDF/A-``level`` (1b, 2b or 3b): fonts embedded, colours in sRGB, checked."""
    source, level = request.input, request.options["level"]
    with tempfile.TemporaryDirectory(prefix="conversio-pdfa-") as folder:
        staged, intent, result = (Path(folder) / name for name in ("input.pdf", "intent.ps", "output.pdf"))
        with open_pdf(source.path, source.name, request.options.get("password"), request.limits) as pdf:
            sizes, tagged = shown_sizes(pdf), "/StructTreeRoot" in pdf.Root
            removed = tidy(pdf)
            write_pdf(pdf, staged, source.name)
        redrawn = not declared_by_pikepdf(staged, result, level)
        if redrawn:
            intent.write_bytes(_INTENT)
            run(command(ghostscript(), level, intent, staged, result), request, Path(folder) / "gs.log")
        check_pdfa(result, source.name, level, sizes)
        changed = changed_text(staged, result)
        out = request.output(source.name)
        shutil.move(result, out.path)
    if removed:
        request.warn(f"{source.name}: {removed} hidden or undrawn annotation(s) are not kept in the PDF/A")
    if redrawn and tagged:
        request.warn(f"{source.name}: its accessibility tags (structure tree) are not kept in the PDF/A")
    if changed:
        pages = ", ".join(map(str, changed[:10]))
        request.warn(
            f"{source.name}: the text of page {pages} extracts differently from the original "
            "(searching and copying it may not work as before)"
        )
    return [out]


def tidy(pdf: pikepdf.Pdf) -> int:
    """Make the annotations PDF/A can keep printable and remove the others (hidden ones, and those
    without a drawn appearance other than links, pop-ups and form fields, which Ghostscript draws);
    drop what pikepdf's PDF/A validator does not know and no viewer needs (Acrobat's old
    ``/DocChecksum``, a ``/Type`` in ``/MarkInfo`` or ``/ViewerPreferences``, an ``/OpenAction``
    that opens the first page). The number of annotations removed."""
    removed = 0
    for page in pdf.pages:
        annotations = page.obj.get("/Annots")
        if not isinstance(annotations, pikepdf.Array):
            continue
        kept = [annotation for annotation in annotations if _keep(annotation)]
        removed += len(annotations) - len(kept)
        page.obj.Annots = pikepdf.Array(kept)
    if "/DocChecksum" in pdf.trailer:
        del pdf.trailer["/DocChecksum"]
    for key in ("/MarkInfo", "/ViewerPreferences"):
        settings = pdf.Root.get(key)
        if isinstance(settings, pikepdf.Dictionary) and "/Type" in settings:
            del settings["/Type"]
    opening = pdf.Root.get("/OpenAction")
    if isinstance(opening, pikepdf.Array) and len(opening) and opening[0] == pdf.pages[0].obj:
        del pdf.Root["/OpenAction"]  # "open at the first page": what a viewer does anyway
    return removed


def _keep(annotation: pikepdf.Object) -> bool:
    """Whether PDF/A can keep ``annotation``; if so it is made printable (pop-ups aside)."""
    if not isinstance(annotation, pikepdf.Dictionary) or "/Subtype" not in annotation:
        return False
    flags, subtype = flags_of(annotation), annotation.Subtype
    drawn = subtype in (*WITHOUT_APPEARANCE, pikepdf.Name.Widget) or has_appearance(annotation)
    if flags & HIDDEN or not drawn:
        return False
    if subtype != pikepdf.Name.Popup:
        annotation.F = flags | PRINT
    return True


def declared_by_pikepdf(staged: Path, result: Path, level: str) -> bool:
    """Whether pikepdf's PDF/A writer wrote ``staged`` as PDF/A-``level`` to ``result``: only when
    ``pikepdf[pdfa]`` is installed and its validator approved the file written."""
    try:
        from pikepdf import pdfa as writer
    except ImportError:
        return False
    with pikepdf.open(staged) as pdf:
        try:
            writer.save(pdf, result, level)
        except writer.PdfaError:
            return False
        except Exception as exc:  # a hostile file may break the writer in any way: Ghostscript's turn
            logger.info("pikepdf's PDF/A writer failed (%s: %s)", type(exc).__name__, exc)
            return False
    return True


def run(cmd: list[str], request: ConversionRequest, log: Path) -> None:
    """Run Ghostscript under the engine's memory cap and the pdf family's timeout."""
    name, limits = request.input.name, request.limits
    timeout = limits.step_timeout("pdf")
    with log.open("wb") as errors:
        try:
            process = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=errors,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                preexec_fn=engine_preexec(limits.max_engine_memory),
                env={**os.environ, **ENGINE_ENV},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Timeout(
                f"making PDF/A of {name} took longer than {timeout:g} s and was stopped", timeout=timeout
            ) from None
    output = log.read_bytes()[-4096:].decode("utf-8", "replace")
    if process.returncode != 0 or any(mark in output.lower() for mark in _UNREAD_MARKS):
        raise failure(name, process.returncode, output)


def failure(name: str, returncode: int, output: str) -> ConversioError:
    """The error for a Ghostscript that exited with ``returncode`` after printing ``output``
    (Ghostscript's words, which name the server's paths, go to the log only)."""
    logger.info("Ghostscript failed on %s (exit code %d): %s", name, returncode, output.strip()[-500:])
    if returncode < 0:
        return engine_stopped(f"making PDF/A of {name}", "Ghostscript", -returncode, file=name)
    if any(mark in output.lower() for mark in _MEMORY_MARKS):
        return FileTooLarge(
            f"{name}: making PDF/A of it needs more memory than the limit allows", limit="memory"
        )
    return ConversionFailed(
        f"{name} could not be made PDF/A: Ghostscript could not rewrite it; "
        "export it again from the application that made it",
        file=name,
        final=True,
    )
