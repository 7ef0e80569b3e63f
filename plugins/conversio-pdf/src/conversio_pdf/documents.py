"""Opening PDFs safely with pikepdf: every engine failure becomes a clear conversio error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pikepdf

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, EmptyFile, FileTooLarge, InvalidPassword
from conversio.limits import Limits
from conversio_pdf.faults import damaged
from conversio_pdf.passwords import candidates


@contextmanager
def open_pdf(path: Path, name: str, password: str | None, limits: Limits) -> Iterator[pikepdf.Pdf]:
    """The PDF at ``path``, checked: readable, decrypted, with 1 to ``limits.max_pages`` pages.

    The page tree's declared ``/Count`` is checked before the tree is walked, so
    a page bomb costs nothing. Engine errors inside the block become clear errors too.
    """
    pdf, _ = unlock(path, name, password)
    with pdf, engine_errors(name):
        check_pages(pdf, name, limits)
        yield pdf


def unlock(path: Path, name: str, password: str | None) -> tuple[pikepdf.Pdf, bytes]:
    """The PDF at ``path`` opened by qpdf, and the password bytes that opened it.

    The password is tried as typed, then in the forms :func:`~conversio_pdf.passwords.candidates`
    gives (SASLprep for AES-256, PDFDocEncoding for older revisions).
    """
    for key in candidates(password):
        try:
            return pikepdf.open(path, password=key), key
        except pikepdf.PasswordError:
            continue
        except (pikepdf.PdfError, RuntimeError, ValueError, OSError) as exc:
            raise damaged(name, str(exc)) from None
    raise wrong_password(name, password)


def wrong_password(name: str, password: str | None) -> InvalidPassword:
    if password:
        return InvalidPassword(f"{name}: the password is wrong; check it and try again", file=name)
    return InvalidPassword(f"{name} is encrypted: give its password (option 'password')", file=name)


def check_pages(pdf: pikepdf.Pdf, name: str, limits: Limits) -> int:
    """The page count; ``FILE_TOO_LARGE`` above ``limits.max_pages``; when there is none,
    ``CORRUPT_FILE`` if some could not be read, else ``EMPTY_FILE``."""
    declared = pdf.Root.get("/Pages", pikepdf.Dictionary()).get("/Count", 0)
    if isinstance(declared, int) and declared > limits.max_pages:
        raise too_many_pages(name, declared, limits)
    count = len(pdf.pages)
    if count > limits.max_pages:
        raise too_many_pages(name, count, limits)
    if count == 0:
        problems = [str(warning) for warning in pdf.get_warnings()]
        if problems or declared:  # pages there, but none could be read
            raise damaged(name, " ".join(problems))
        raise EmptyFile(f"{name} has no pages: there is nothing to convert", file=name)
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
    """Turn a pikepdf/qpdf failure on a damaged file into a clear error about ``name``."""
    try:
        yield
    except ConversioError:
        raise
    except pikepdf.PasswordError:
        raise wrong_password(name, None) from None
    except (pikepdf.PdfError, pikepdf.DataDecodingError, RuntimeError, ValueError, KeyError) as exc:
        raise damaged(name, str(exc)) from None


def save_pdf(pdf: pikepdf.Pdf, request: ConversionRequest, name: str, **save_options: object) -> Output:
    """Write ``pdf`` as ``name`` in the request's output folder (fresh /ID, no qpdf version noise),
    through :meth:`~conversio.converters.ConversionRequest.write`: qpdf writes front to back."""
    return request.write(name, lambda stream: write_pdf(pdf, stream, name, **save_options))


def write_pdf(pdf: pikepdf.Pdf, target: Path | BinaryIO, name: str, **save_options: object) -> None:
    """Write ``pdf`` to ``target``; a qpdf failure is a clear error about ``name``."""
    with engine_errors(name):
        pdf.save(target, fix_metadata_version=False, **save_options)  # type: ignore[arg-type]


def _content_unreadable(page: pikepdf.Page) -> bool:
    """Whether the page names a content stream that is missing or cannot be decoded."""
    if "/Contents" not in page.obj:
        return False  # a page with nothing on it
    contents = page.obj.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    try:
        return not all(
            isinstance(stream, pikepdf.Stream) and stream.read_bytes() is not None for stream in streams
        )
    except (pikepdf.PdfError, pikepdf.DataDecodingError, RuntimeError, ValueError):
        return True


def damaged_pages(
    path: Path, name: str, password: str | None, numbers: list[int], *, rebuilt_counts: bool = True
) -> list[int]:
    """Which of the pages ``numbers`` (1-based) may have lost their content: those whose content
    stream is missing or cannot be decoded, and (``rebuilt_counts``: pages known to show
    nothing) all of them in a file qpdf had to reconstruct (a truncated page object loses keys)."""
    pdf, _ = unlock(path, name, password)
    with pdf, engine_errors(name):
        unreadable = [number for number in numbers if _content_unreadable(pdf.pages[number - 1])]
        return numbers if rebuilt_counts and pdf.get_warnings() else unreadable
