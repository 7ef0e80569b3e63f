"""What every packer shares: the archive's name and its members' names."""

from __future__ import annotations

from conversio.converters import ConversionRequest, InputFile, Output, safe_filename, safe_relpath
from conversio.errors import InvalidRequest
from conversio_archive.names import UniqueNames, split_extension

#: The archive's name when it holds more than one file.
DEFAULT_STEM = "archive"


def archive_output(request: ConversionRequest, extension: str) -> Output:
    """``report.zip`` for a single ``report.pdf``, ``archive.zip`` for several files."""
    if not request.inputs:
        raise InvalidRequest("there is nothing to pack: no input files")
    if len(request.inputs) == 1:
        stem, _ = split_extension(safe_filename(request.inputs[0].name))
        return request.output(f"{stem}.{extension}")
    return request.output(f"{DEFAULT_STEM}.{extension}")


def members(request: ConversionRequest) -> list[tuple[InputFile, str]]:
    """Each input with its member name, in input order: safe, relative and unique."""
    names = UniqueNames()
    return [(item, names.claim(safe_relpath(item.name))) for item in request.inputs]
