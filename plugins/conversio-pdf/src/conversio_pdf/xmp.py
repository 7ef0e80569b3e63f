"""XMP metadata read and written with pikepdf, the document information dictionary kept in step.

Writing goes through XMP: pikepdf then rewrites the information dictionary (Title, Author,
Subject, Keywords, Creator, ModDate, ...) from it, so the two always agree; entries of the
information dictionary that XMP lacks are first copied into it, so none is lost. A PDF/A or
PDF/UA identification (``pdfaid``, ``pdfuaid``) is never changed. A metadata packet is
measured before it is parsed (at most :data:`MAX_XMP_BYTES`), and parsed without entities.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pikepdf
from pikepdf.models.metadata import PdfMetadata

from conversio.errors import FileTooLarge, InvalidOption
from conversio_pdf.documents import engine_errors
from conversio_pdf.inflation import inflated_size

#: The largest XMP packet read or rewritten.
MAX_XMP_BYTES = 4 * 1024 * 1024
#: option → the XMP property it sets (the information dictionary follows)
PROPERTIES = {
    "title": "dc:title",
    "author": "dc:creator",
    "subject": "dc:description",
    "keywords": "pdf:Keywords",
    "creator": "xmp:CreatorTool",
}
#: Namespaces whose properties the ``xmp`` option may set (their usual prefixes).
WRITABLE = ("dc", "pdf", "xmp", "xmpMM", "xmpRights", "photoshop", "prism", "prism2", "prism3")


def _check_size(pdf: pikepdf.Pdf, name: str) -> None:
    """``FILE_TOO_LARGE`` when the XMP packet inflates past :data:`MAX_XMP_BYTES`."""
    stream = pdf.Root.get("/Metadata")
    if isinstance(stream, pikepdf.Stream) and inflated_size(stream, MAX_XMP_BYTES + 1) > MAX_XMP_BYTES:
        raise FileTooLarge(
            f"{name}: its XMP metadata unpacks to more than {MAX_XMP_BYTES // (1024 * 1024)} MiB, "
            "more than the limit",
            file=name,
            limit=MAX_XMP_BYTES,
        )


def read_xmp(pdf: pikepdf.Pdf, name: str) -> tuple[dict[str, Any] | None, str | None, bool]:
    """The XMP properties by prefixed name (``dc:title``; None without a packet), the PDF/A part
    and conformance (``"2B"``) or None, and whether the packet was damaged (what could be read
    is given)."""
    if not isinstance(pdf.Root.get("/Metadata"), pikepdf.Stream):
        return None, None, False
    _check_size(pdf, name)
    with engine_errors(name):
        meta = pdf.open_metadata()
        properties = {_prefixed(key): _plain(value) for key, value in meta.items()}
        return properties, meta.pdfa_status or None, bool(meta.recovered)


def _prefixed(key: str) -> str:
    """``{http://purl.org/dc/elements/1.1/}title`` → ``dc:title`` (unknown namespaces kept)."""
    uri, _, local = key[1:].partition("}")
    prefix = PdfMetadata.REVERSE_NS.get(uri)
    return f"{prefix}:{local}" if prefix and local else key


def _plain(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(str(each) for each in value)
    if isinstance(value, list):
        return [str(each) for each in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def write_metadata(pdf: pikepdf.Pdf, name: str, options: dict[str, Any], warn: Callable[[str], None]) -> None:
    """Set the ``title``, ``author``, ``subject``, ``keywords``, ``creator`` options and the
    ``xmp`` properties (a JSON object; null removes one) in XMP and the information dictionary,
    with the modification date now unless ``xmp`` sets it."""
    values: dict[str, object] = {
        PROPERTIES[key]: ([value] if key == "author" else value)
        for key in PROPERTIES
        if (value := options.get(key)) is not None
    }
    values |= _extra(options.get("xmp"))
    if not values:
        raise InvalidOption(
            f"metadata needs at least one of {', '.join([*PROPERTIES, 'xmp'])}", option="title"
        )
    _check_size(pdf, name)
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    with engine_errors(name), pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        if meta.recovered:
            warn(f"{name}: its XMP metadata was damaged; what could be read of it was kept")
        _adopt_docinfo(pdf, meta)
        for key, value in values.items():
            if value is None:
                if key in meta:
                    del meta[key]
            else:
                meta[key] = value
        for key in ("xmp:ModifyDate", "xmp:MetadataDate"):
            if key not in values:
                meta[key] = now


def _adopt_docinfo(pdf: pikepdf.Pdf, meta: PdfMetadata) -> None:
    """Copy into XMP the information dictionary's entries it lacks (XMP wins where both have one),
    so that rewriting the dictionary from XMP loses nothing."""
    info = pdf.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        return
    missing = {
        str(docinfo): info[docinfo]
        for uri, element, docinfo, _ in meta.DOCINFO_MAPPING
        if docinfo in info and f"{{{uri}}}{element}" not in meta
    }
    if missing:
        meta.load_from_docinfo(missing)


def _extra(data: object) -> dict[str, object]:
    """The ``xmp`` option: ``{"dc:rights": "CC BY 4.0", "dc:subject": ["a", "b"], "xmp:Label": null}``."""
    if data is None:
        return {}
    if not isinstance(data, dict) or not data:
        raise InvalidOption("'xmp' must be a JSON object of property → value", option="xmp")
    for key, value in data.items():
        prefix, _, local = key.partition(":")
        if prefix not in WRITABLE or not local.isidentifier():
            raise InvalidOption(
                f"'xmp' cannot set {key!r}: write prefix:Name with one of the prefixes "
                f"{', '.join(WRITABLE)} (the PDF/A and PDF/UA identification is never changed)",
                option="xmp",
            )
        ok = (
            value is None
            or isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(each, str) for each in value))
        )
        if not ok:
            raise InvalidOption(f"'xmp' {key!r} takes text, a list of texts or null", option="xmp")
    return data
