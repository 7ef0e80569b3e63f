"""Request bodies streamed to disk with size limits enforced while they arrive.

Multipart bodies go through python-multipart's push parser fed from ``request.stream()``:
every file part is written to its own file as it arrives (never held in memory), and the
upload is refused with 413 ``FILE_TOO_LARGE`` the moment a file crosses the limit, or with 507
``INSUFFICIENT_STORAGE`` the moment the disk is full (the request's scratch files are removed).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import attrs
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from conversio.stores.space import is_full, out_of_space, refusing_full
from conversio_server.errors import ApiError

#: Text fields are small (format names, JSON options): all of them together at most this much.
MAX_FIELD_BYTES = 1024 * 1024
_MAX_HEADER_BYTES = 16 * 1024


@attrs.frozen
class Field:
    name: str
    value: str


@attrs.frozen
class UploadedFile:
    """A file part written to ``path``; ``filename`` is what the client called it."""

    name: str
    filename: str
    path: Path
    size: int
    content_type: str


Part = Field | UploadedFile


class Scratch:
    """A request's temporary files: fresh names in the server's scratch folder (on the store's
    filesystem, so storing a file is a rename); whatever is still at them when the block ends is
    removed. A request makes no folder of its own."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._given: list[Path] = []

    def path(self, prefix: str) -> Path:
        """A name nothing else uses, for one file or folder of this request."""
        path = self._folder / f"{prefix}{secrets.token_hex(8)}"
        self._given.append(path)
        return path

    def release(self, paths: Sequence[Path]) -> list[Path]:
        """Leave ``paths`` to the caller (who removes them): they outlive the request."""
        given = set(paths)
        self._given = [path for path in self._given if path not in given]
        return list(paths)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for path in self._given:
            try:
                path.unlink(missing_ok=True)
            except IsADirectoryError:
                shutil.rmtree(path, ignore_errors=True)


def too_large(limit: int, what: str = "the file") -> ApiError:
    return ApiError(
        "FILE_TOO_LARGE",
        f"{what} is larger than the limit of {limit:,} bytes",
        details={"limit": limit},
    )


def check_declared_length(request: Request, limit: int) -> None:
    """413 before reading anything when ``Content-Length`` already says the body is too large."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, "the request body")


class _MultipartWriter:
    """The callbacks of the push parser: headers per part, text fields in memory, files on disk."""

    def __init__(self, scratch: Scratch, max_file_bytes: int, max_files: int) -> None:
        self.scratch = scratch
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.parts: list[Part] = []
        self.finished = False
        self.bytes_in = 0
        self._field_bytes = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._filename: str | None = None
        self._content_type = ""
        self._buffer = bytearray()
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._size = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field_data,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers, self._buffer, self._size = [], bytearray(), 0

    def _header_field_data(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]
        self._check_header()

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._check_header()

    def _check_header(self) -> None:
        if len(self._header_field) + len(self._header_value) > _MAX_HEADER_BYTES:
            raise ApiError("INVALID_REQUEST", "a multipart part header is too long")

    def _header_end(self) -> None:
        self._headers.append((bytes(self._header_field).lower(), bytes(self._header_value)))
        self._header_field, self._header_value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        headers = dict(self._headers)
        kind, params = parse_options_header(headers.get(b"content-disposition", b""))
        if kind != b"form-data" or b"name" not in params:
            raise ApiError(
                "INVALID_REQUEST", "every multipart part needs Content-Disposition: form-data; name=…"
            )
        self._name = _text(params[b"name"], "a part name")
        filename = params.get(b"filename")
        self._filename = None if filename is None else _text(filename, "a file name")
        self._content_type = _text(headers.get(b"content-type", b""), "a content type")
        if self._filename is not None:
            if sum(isinstance(p, UploadedFile) for p in self.parts) >= self.max_files:
                raise ApiError(
                    "INVALID_REQUEST",
                    f"at most {self.max_files} files per request",
                    details={"maxFiles": self.max_files},
                )
            self._path = self.scratch.path("part-")
            self._file = self._path.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._file is not None:
            self._size += size
            self.bytes_in += size
            if self._size > self.max_file_bytes:
                raise too_large(self.max_file_bytes, repr(self._filename or self._name))
            self._file.write(data[start:end])
            return
        self._field_bytes += size
        if self._field_bytes > MAX_FIELD_BYTES:
            raise ApiError("INVALID_REQUEST", f"the form's text fields exceed {MAX_FIELD_BYTES:,} bytes")
        self._buffer += data[start:end]

    def _part_end(self) -> None:
        if self._file is not None and self._path is not None:
            self._file.close()
            self._file = None
            self.parts.append(
                UploadedFile(self._name, self._filename or "", self._path, self._size, self._content_type)
            )
            self._path = None
        else:
            self.parts.append(Field(self._name, _text(bytes(self._buffer), f"the field {self._name!r}")))

    def _end(self) -> None:
        self.finished = True

    @property
    def filename(self) -> str:
        """The name of the file part being written (for a message), else the part's name."""
        return self._filename or self._name

    def close(self) -> None:
        """Close a file part cut short; it is removed with the request's scratch files."""
        if self._file is not None:
            with contextlib.suppress(OSError):  # its last bytes may not fit: they are not wanted
                self._file.close()


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError("INVALID_REQUEST", f"{what} is not valid UTF-8") from None


def multipart_boundary(request: Request) -> bytes | None:
    """The boundary when the request is ``multipart/form-data``, else ``None``."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data":
        return None
    boundary = params.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise ApiError("INVALID_REQUEST", "a multipart/form-data body needs a boundary parameter")
    return boundary


async def read_multipart(
    request: Request, boundary: bytes, scratch: Scratch, *, max_file_bytes: int, max_files: int
) -> tuple[list[Part], int]:
    """Parse the body as it arrives; returns its parts in order, and the bytes of its files."""
    writer = _MultipartWriter(scratch, max_file_bytes, max_files)
    parser = MultipartParser(boundary, writer.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError("INVALID_REQUEST", f"malformed multipart body: {exc}") from None
    except ClientDisconnect:
        raise ApiError("INVALID_REQUEST", "the client went away before the body was complete") from None
    except OSError as exc:
        if not is_full(exc):
            raise
        raise out_of_space(writer.filename) from None
    finally:
        writer.close()
    if not writer.finished:
        raise ApiError("INVALID_REQUEST", "the multipart body ended before its closing boundary")
    return writer.parts, writer.bytes_in


async def read_raw(request: Request, scratch: Scratch, *, max_bytes: int) -> tuple[Path, int]:
    """Write the raw body to a scratch file; 413 as soon as it crosses ``max_bytes``."""
    check_declared_length(request, max_bytes)
    path = scratch.path("body-")
    size = 0
    with (
        refusing_full("the file"),
        os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out,
    ):
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise too_large(max_bytes)
                out.write(chunk)
        except ClientDisconnect:
            raise ApiError("INVALID_REQUEST", "the client went away before the body was complete") from None
    return path, size
