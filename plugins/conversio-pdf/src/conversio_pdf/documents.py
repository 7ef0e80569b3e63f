"""Opening PDFs safely with pikepdf: every engine failure becomes a clear conversio error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pikepdf

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, CorruptFile, FileTooLarge, InvalidPassword
from conversio.limits import Limits


@contextmanager
def open_pdf(path: Path, name: str, password: str | None, limits: Limits) -> Iterator[pikepdf.Pdf]:
    """The PDF at ``path``, checked: readable, decrypted, with 1 to ``limits.max_pages`` pages.

    The page tree's declared ``/Count`` is checked before the tree is walked, so
    a page bomb costs nothing. Engine errors inside the block become
    ``CORRUPT_FILE`` too.
    """
    try:
        pdf = pikepdf.open(path, password=password or "")
    except pikepdf.PasswordError:
        raise wrong_password(name, password) from None
    except (pikepdf.PdfError, RuntimeError, ValueError, OSError) as exc:
        raise CorruptFile(f"{name} is not a readable PDF: {exc}", file=name) from None
    with pdf, engine_errors(name):
        check_pages(pdf, name, limits)
        yield pdf


def wrong_password(name: str, password: str | None) -> InvalidPassword:
    if password:
        return InvalidPassword(f"{name}: the password is wrong", file=name)
    return InvalidPassword(f"{name} is encrypted: give its password (option 'password')", file=name)


def check_pages(pdf: pikepdf.Pdf, name: str, limits: Limits) -> int:
    """The page count; ``FILE_TOO_LARGE`` above ``limits.max_pages``, ``CORRUPT_FILE`` when none."""
    declared = pdf.Root.get("/Pages", pikepdf.Dictionary()).get("/Count", 0)
    if isinstance(declared, int) and declared > limits.max_pages:
        raise too_many_pages(name, declared, limits)
    count = len(pdf.pages)
    if count > limits.max_pages:
        raise too_many_pages(name, count, limits)
    if count == 0:
        raise CorruptFile(f"{name} has no readable page", file=name)
    return count


def too_many_pages(name: str, count: int, limits: Limits) -> FileTooLarge:
    return FileTooLarge(
        f"{name} has {count} pages, more than the limit of {limits.max_pages}",
        file=name,
        pages=count,
        limit=limits.max_pages,
    )


@contextmanager
def engine_errors(name: str) -> Iterator[None]:
    """Turn a pikepdf/qpdf failure on a damaged file into ``CORRUPT_FILE``."""
    try:
        yield
    except ConversioError:
        raise
    except pikepdf.PasswordError:
        raise InvalidPassword(f"{name} is encrypted: give its password (option 'password')") from None
    except (pikepdf.PdfError, pikepdf.DataDecodingError, RuntimeError, ValueError, KeyError) as exc:
        raise CorruptFile(f"{name} could not be processed: {exc}", file=name) from None


def save_pdf(pdf: pikepdf.Pdf, request: ConversionRequest, name: str, **save_options: object) -> Output:
    """Write ``pdf`` as ``name`` in the request's output folder (fresh /ID, no qpdf version noise),
    through :meth:`~conversio.converters.ConversionRequest.write`: qpdf writes front to back."""
    return request.write(name, lambda stream: write_pdf(pdf, stream, name, **save_options))


def write_pdf(pdf: pikepdf.Pdf, target: Path | BinaryIO, name: str, **save_options: object) -> None:
    """Write ``pdf`` to ``target``; a qpdf failure is ``CORRUPT_FILE`` about ``name``."""
    with engine_errors(name):
        pdf.save(target, fix_metadata_version=False, **save_options)  # type: ignore[arg-type]
