"""PDF/A-1b, -2b or -3b of a PDF, written by Ghostscript and checked before it is returned.

The input is opened with pikepdf first (its password, its damage, its page count are
handled as every other operation handles them) and a plain, decrypted copy is staged in
a private temporary folder. Ghostscript rewrites that copy with ``-dSAFER`` (it may read
its arguments and write its output, nothing else), under the engine's address-space cap
and the pdf family's timeout; an sRGB output intent (the profile Ghostscript ships) is
added by a few pdfmarks. The result reaches the user only when
:func:`~conversio_pdf.pdfa_check.check_pdfa` finds it conforms.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, ConversionFailed, FileTooLarge, MissingDependency, Timeout
from conversio.limits import ENGINE_ENV, engine_preexec
from conversio_pdf.documents import open_pdf, write_pdf
from conversio_pdf.pdfa_check import check_pdfa
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
        "-sColorConversionStrategy=RGB",
        f"-sPDFA_ICC={srgb_profile(gs)}",
        f"-sOutputFile={target}",
        str(intent),
        str(source),
    ]


def pdfa(request: ConversionRequest) -> list[Output]:
    """The input as PDF/A-``level`` (1b, 2b or 3b): fonts embedded, colours in sRGB, checked."""
    source, level = request.input, request.options["level"]
    gs = ghostscript()
    with tempfile.TemporaryDirectory(prefix="conversio-pdfa-") as folder:
        staged, intent, result = (Path(folder) / name for name in ("input.pdf", "intent.ps", "output.pdf"))
        with open_pdf(source.path, source.name, request.options.get("password"), request.limits) as pdf:
            pages, tagged = len(pdf.pages), "/StructTreeRoot" in pdf.Root
            write_pdf(pdf, staged, source.name)
        intent.write_bytes(_INTENT)
        run(command(gs, level, intent, staged, result), request, Path(folder) / "gs.log")
        check_pdfa(result, source.name, level, pages)
        out = request.output(source.name)
        shutil.move(result, out.path)
    if tagged:
        request.warn(f"{source.name}: its accessibility tags (structure tree) are not kept in the PDF/A")
    return [out]


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
    if process.returncode != 0:
        raise failure(name, process.returncode, log.read_bytes()[-4096:].decode("utf-8", "replace"))


def failure(name: str, returncode: int, output: str) -> ConversioError:
    """The error for a Ghostscript that exited with ``returncode`` after printing ``output``
    (Ghostscript's words, which name the server's paths, go to the log only)."""
    logger.info("Ghostscript failed on %s (exit code %d): %s", name, returncode, output.strip()[-500:])
    if returncode < 0:
        return ConversionFailed(
            f"making PDF/A of {name}: Ghostscript stopped unexpectedly (signal {-returncode})",
            crashed=True,
            signal=-returncode,
            file=name,
        )
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
