"""What every packer shares: the archive's name and its members' names."""

from __future__ import annotations

from conversio.converters import ConversionRequest, InputFile, Output, safe_filename, safe_relpath
from conversio.errors import InvalidRequest
from conversio_archive.names import UniqueNames, split_extension

#: The archive's name when it holds more than one file.
DEFAULT_STEM = "archive"


def archive_output(request: ConversionRequest, extension: str) -> Output:
    """The archive, named after the one file every input was made from, else ``archive``.

    ``report.zip`` for ``report.pdf``; ``album.tar.gz`` for the members of ``album.zip``
    repacked, or the pages of ``album.pdf``; ``archive.zip`` for files of several origins.
    """
    if not request.inputs:
        raise InvalidRequest("there is nothing to pack: no input files")
    origins = {origin(item) for item in request.inputs}
    if len(origins) == 1:
        stem, _ = split_extension(safe_filename(origins.pop()))
        return request.output(f"{stem}.{extension}")
    return request.output(f"{DEFAULT_STEM}.{extension}")


def origin(item: InputFile) -> str:
    """The name of the user's file ``item`` was made from, else (called directly) its own name."""
    return item.origin or item.name


def members(request: ConversionRequest) -> list[tuple[InputFile, str]]:
    """Each input with its member name, in input order: safe, relative and unique."""
    names = UniqueNames()
    return [(item, names.claim(safe_relpath(item.name))) for item in request.inputs]
