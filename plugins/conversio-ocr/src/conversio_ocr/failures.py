"""OCRmyPDF's exit codes and log, turned into conversio errors in the user's terms.

OCRmyPDF's own words name the server's paths and its internals: they go to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from conversio.errors import ConversioError, ConversionFailed, FileTooLarge, MissingDependency, engine_stopped
from conversio_ocr.inputs import damaged, encrypted
from conversio_ocr.specs import INSTALL_HINT

logger = logging.getLogger(__name__)

#: OCRmyPDF's exit codes (``ocrmypdf.ExitCode``), by the name it gives them.
INPUT_FILE = 2
MISSING_DEPENDENCY = 3
CHILD_PROCESS_ERROR = 7
ENCRYPTED_PDF = 8
#: What the log says when an image is larger than ``--max-image-mpixels`` allows.
_BOMB_MARKS = ("decompressionbomb", "decompression bomb")
#: What the log says when a process ran out of the memory it may use.
_MEMORY_MARKS = ("memoryerror", "cannot allocate", "out of memory", "std::bad_alloc")
#: What the log says when an image cannot be decoded (Pillow's words).
_DAMAGE_MARKS = (
    "image file is truncated",
    "cannot identify image file",
    "broken data stream",
    "decoder error",
)
#: (option, the program it needs as the log names it, what that is, how to install it)
NEEDED = (
    ("clean", "unpaper", "unpaper", "install it: apt-get install unpaper"),
    ("rotate", "osd", "Tesseract's orientation data", "install it: apt-get install tesseract-ocr-osd"),
    ("optimize", "pngquant", "pngquant (levels 2 and 3)", "install it: apt-get install pngquant"),
)


def failure(action: str, name: str, returncode: int, log: str, options: Mapping[str, Any]) -> ConversioError:
    """The error for an OCRmyPDF that exited with ``returncode`` after writing ``log``."""
    logger.info("OCRmyPDF failed on %s (exit code %d): %s", name, returncode, log.strip()[-1000:])
    lowered = log.lower()
    if returncode < 0:
        return engine_stopped(f"{action} {name}", "the OCR engine", -returncode, file=name)
    if any(mark in lowered for mark in _BOMB_MARKS):
        return FileTooLarge(
            f"{name} holds an image too large to OCR (more pixels than the limit allows)",
            file=name,
            limit="pixels",
        )
    if any(mark in lowered for mark in _MEMORY_MARKS):
        return FileTooLarge(
            f"{action} {name} needs more memory than the limit allows", file=name, limit="memory"
        )
    if returncode == ENCRYPTED_PDF:
        return encrypted(name)
    if returncode == MISSING_DEPENDENCY:
        return _missing(log, options)
    if returncode == INPUT_FILE or any(mark in lowered for mark in _DAMAGE_MARKS):
        return damaged(name)
    return ConversionFailed(
        f"{action} {name} failed: the OCR engine could not process it"
        + ("" if returncode != CHILD_PROCESS_ERROR else " (Tesseract or unpaper failed on a page)"),
        file=name,
        exit_code=returncode,
    )


def _missing(log: str, options: Mapping[str, Any]) -> MissingDependency:
    """What is missing: a program an option needs (:data:`NEEDED`), else Tesseract."""
    lowered = log.lower()
    for option, program, what, hint in NEEDED:
        if options.get(option) and program in lowered:
            return MissingDependency(
                f"the option '{option}' needs {what}, which is not installed; {hint}",
                module=program,
                install_hint=hint,
            )
    return MissingDependency(
        f"Tesseract, or a language it was asked for, is not installed; {INSTALL_HINT}",
        module="tesseract",
        install_hint=INSTALL_HINT,
    )
