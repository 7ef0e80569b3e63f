"""Files attached to a PDF (its EmbeddedFiles name tree), with pikepdf: listed, added,
removed and extracted.

An attachment's name comes from whoever made the PDF: it is reduced to a safe base name
(no folder, no ``..``, no drive) before it names an output, and two that end up alike are
numbered (``data (2).csv``). What an attachment inflates to is counted before anything is
written: each is held to the ``max_compression_ratio`` of its stored size (past 1 MiB) and
all of them together to ``max_unpacked_size``, so a stream that inflates to gigabytes is
``FILE_TOO_LARGE``; more than ``max_members`` attachments are refused too.
"""

from __future__ import annotations

import mimetypes
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import pikepdf
from pikepdf.models.metadata import decode_pdf_date, encode_pdf_date

from conversio.converters import ConversionRequest, Output, safe_filename
from conversio.errors import FileTooLarge, InvalidOption, InvalidRequest
from conversio.limits import Limits
from conversio_pdf.documents import engine_errors, open_pdf, save_pdf
from conversio_pdf.inflation import CHUNK, flate_layers, inflated_size

#: Streams are written as they are stored (new attachments come compressed): qpdf would otherwise
#: inflate nested Flate encodings to compress them again, and an attachment of 3 KB that holds
#: 1 GiB would cost 5 s and 1 GiB of memory to carry along.
KEEP_STREAMS = {"compress_streams": False, "stream_decode_level": pikepdf.StreamDecodeLevel.none}
#: Ratio limits only bite past this many bytes, so a small, very compressible file passes.
RATIO_FLOOR = 1024 * 1024


def list_attachments(pdf: pikepdf.Pdf) -> list[dict[str, Any]]:
    """Each attachment's name, file name, description, media type, size (as the PDF declares
    it), and creation and modification dates."""
    listed = []
    for key, spec in _attachments(pdf):
        stream = _stream(spec)
        params = stream.get("/Params") if stream is not None else None
        params = params if isinstance(params, pikepdf.Dictionary) else pikepdf.Dictionary()
        subtype = stream.get("/Subtype") if stream is not None else None
        listed.append(
            {
                "name": key,
                "filename": _text(spec.get("/UF", spec.get("/F"))),
                "description": _text(spec.get("/Desc")),
                "media_type": str(subtype)[1:] if isinstance(subtype, pikepdf.Name) else None,
                "size": int(params["/Size"]) if isinstance(params.get("/Size"), int) else None,
                "created": _date(params.get("/CreationDate")),
                "modified": _date(params.get("/ModDate")),
            }
        )
    return listed


def attach(request: ConversionRequest) -> list[Output]:
    """The first input with the others attached, each under its own file name and media type
    (``replace``: an attachment of the same name already there is replaced)."""
    first, *files = request.inputs
    if not files:
        raise InvalidRequest(f"attach needs files to attach after {first.name}", file=first.name)
    options = request.options
    with open_pdf(first.path, first.name, options.get("password"), request.limits) as pdf:
        existing = {key for key, _ in _attachments(pdf)}
        names = [_safe_name(source.name) for source in files]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise InvalidRequest(
                f"two files to attach are called {', '.join(twice)}: rename one", names=twice
            )
        clash = sorted(existing & set(names))
        if clash and not options["replace"]:
            raise InvalidRequest(
                f"{first.name} already has an attachment called {', '.join(clash)}: rename the file, "
                "remove it first (remove-attachments) or give replace=true",
                file=first.name,
                names=clash,
            )
        now = encode_pdf_date(datetime.now(UTC))
        for name, source in zip(names, files, strict=True):
            media = mimetypes.guess_type(name)[0] or "application/octet-stream"
            with engine_errors(first.name):
                pdf.attachments[name] = pikepdf.AttachedFileSpec(
                    pdf,
                    source.path.read_bytes(),
                    filename=name,
                    mime_type=media,
                    creation_date=now,
                    mod_date=now,
                )
        return [save_pdf(pdf, request, first.name, **KEEP_STREAMS)]


def remove_attachments(request: ConversionRequest) -> list[Output]:
    """The PDF without the attachments ``names`` (all of them without ``names``)."""
    source, options = request.input, request.options
    with open_pdf(source.path, source.name, options.get("password"), request.limits) as pdf:
        existing = [key for key, _ in _attachments(pdf)]
        if not existing:
            raise InvalidRequest(
                f"{source.name} has no attachments: there is nothing to remove", file=source.name
            )
        names = list(dict.fromkeys(options.get("names") or existing))
        unknown = [name for name in names if name not in existing]
        if unknown:
            raise InvalidOption(
                f"{source.name} has no attachment {', '.join(map(repr, unknown))}; "
                f"its attachments: {', '.join(existing)}",
                option="names",
                file=source.name,
            )
        with engine_errors(source.name):
            for name in names:
                del pdf.attachments[name]
        return [save_pdf(pdf, request, source.name, **KEEP_STREAMS)]


def extract_attachments(request: ConversionRequest) -> list[Output]:
    """Every attachment as a file of its own, under a safe and unique name."""
    source = request.input
    limits = request.limits
    with open_pdf(source.path, source.name, request.options.get("password"), limits) as pdf:
        found = list(_attachments(pdf))
        if not found:
            raise InvalidRequest(
                f"{source.name} has no attachments: there is nothing to extract", file=source.name
            )
        if len(found) > limits.max_members:
            raise FileTooLarge(
                f"{source.name} has {len(found)} attachments, more than the limit of {limits.max_members}",
                file=source.name,
                limit=limits.max_members,
            )
        taken: set[str] = set()
        outputs: list[Output] = []
        budget = limits.max_unpacked_size
        for number, (key, spec) in enumerate(found, 1):
            stream = _stream(spec)
            if stream is None:
                request.warn(f"{source.name}: the attachment {key!r} holds no file; it was skipped")
                continue
            name = _unique(_safe_name(_text(spec.get("/UF", spec.get("/F"))) or key), taken)
            allowance = _allowance(stream, budget, limits)
            out = request.output(name)
            written = _write(stream, out.path, allowance, source.name, key)
            budget -= written
            outputs.append(out)
            request.progress(number / len(found))
        return outputs


def _attachments(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Dictionary]]:
    """The name tree's entries whose value is a file specification."""
    for key, spec in pdf.attachments.items():
        if isinstance(spec.obj, pikepdf.Dictionary):
            yield str(key), spec.obj


def _stream(spec: pikepdf.Dictionary) -> pikepdf.Stream | None:
    files = spec.get("/EF")
    if not isinstance(files, pikepdf.Dictionary):
        return None
    stream = files.get("/UF", files.get("/F"))
    return stream if isinstance(stream, pikepdf.Stream) else None


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, pikepdf.String) else None


def _date(value: object) -> str | None:
    """A PDF date as ISO 8601 (None when missing or unreadable)."""
    if not isinstance(value, pikepdf.String):
        return None
    try:
        when = decode_pdf_date(str(value))
    except ValueError:
        return None
    return when.isoformat()


def _safe_name(name: str) -> str:
    """The base name of ``name`` (no folder, drive or ``..``), safe as a file name."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return safe_filename(base) if base not in ("", ".", "..") and safe_filename(base) else "attachment"


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (2).ext``, ... when it is taken (compared without case)."""
    stem, dot, extension = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    candidate, number = name, 1
    while candidate.lower() in taken:
        number += 1
        candidate = f"{stem} ({number}){dot}{extension}"
    taken.add(candidate.lower())
    return candidate


def _allowance(stream: pikepdf.Stream, budget: int, limits: Limits) -> int:
    """The most bytes this attachment may inflate to."""
    by_ratio = max(RATIO_FLOOR, int(limits.max_compression_ratio * len(stream.read_raw_bytes())))
    return min(budget, by_ratio)


def _write(stream: pikepdf.Stream, path: Path, allowance: int, pdf_name: str, key: str) -> int:
    """Write the decoded ``stream`` to ``path`` (Flate inflated a chunk at a time); its size, or
    ``FILE_TOO_LARGE`` before anything past ``allowance`` is written."""
    too_large = FileTooLarge(
        f"{pdf_name}: the attachment {key!r} unpacks to more than {allowance // (1024 * 1024) or 1} MiB, "
        "more than the limit",
        file=pdf_name,
        attachment=key,
        limit=allowance,
    )
    plain = flate_layers(stream) == 1 and "/DecodeParms" not in stream
    if not plain and inflated_size(stream, allowance + 1) > allowance:
        raise too_large
    with engine_errors(pdf_name), path.open("wb") as out:
        if not plain:
            data = stream.read_bytes()
            out.write(data)
            return len(data)
        decoder, raw, written = zlib.decompressobj(), stream.read_raw_bytes(), 0
        try:
            while not decoder.eof:
                chunk = decoder.decompress(raw, CHUNK)
                raw = decoder.unconsumed_tail
                if not chunk and not raw:
                    raise zlib.error("the stream ends early")
                written += len(chunk)
                if written > allowance:
                    raise too_large
                out.write(chunk)
        except zlib.error as exc:
            raise ValueError(f"inflate: {exc}") from None  # a damaged attachment: CORRUPT_FILE
        return written
