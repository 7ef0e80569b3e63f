"""Hook implementations of conversio-archive, and nothing else.

Imported whenever conversio starts: it declares the packers and unpackers by
name and imports no engine (zipfile, tarfile and py7zr load on first use).
"""

from __future__ import annotations

from conversio.converters import Cardinality, ConverterSpec
from conversio.formats import ANY
from conversio.hookspecs import hookimpl
from conversio.options import Option, OptionsSchema
from conversio.registry import ConverterRegistrar

PASSWORD = Option("password", "str", help="the password of an encrypted archive", secret=True)


def _level(default: int, minimum: int = 0) -> Option:
    return Option(
        "level",
        "int",
        default=default,
        min=minimum,
        max=9,
        help="compression level: higher is smaller and slower",
    )


#: (engine, format, function, options) of every packer.
PACKERS: tuple[tuple[str, str, str, tuple[Option, ...]], ...] = (
    ("zipfile", "zip", "conversio_archive.zips:pack_zip", (_level(6),)),
    ("tarfile", "tar", "conversio_archive.tars:pack_tar", ()),
    ("tarfile", "tar.gz", "conversio_archive.tars:pack_tar", (_level(6),)),
    ("tarfile", "tar.bz2", "conversio_archive.tars:pack_tar", (_level(9, minimum=1),)),
    ("tarfile", "tar.xz", "conversio_archive.tars:pack_tar", (_level(6),)),
    ("py7zr", "7z", "conversio_archive.sevenzip:pack_7z", (_level(5),)),
)
#: (engine, format, function, options) of every unpacker.
UNPACKERS: tuple[tuple[str, str, str, tuple[Option, ...]], ...] = (
    ("zipfile", "zip", "conversio_archive.zips:unpack_zip", (PASSWORD,)),
    ("tarfile", "tar", "conversio_archive.tars:unpack_tar", ()),
    ("tarfile", "tar.gz", "conversio_archive.tars:unpack_tar", ()),
    ("tarfile", "tar.bz2", "conversio_archive.tars:unpack_tar", ()),
    ("tarfile", "tar.xz", "conversio_archive.tars:unpack_tar", ()),
    ("py7zr", "7z", "conversio_archive.sevenzip:unpack_7z", (PASSWORD,)),
)


def all_specs() -> list[ConverterSpec]:
    """Every packer (files → archive) and unpacker (archive → members)."""
    packers = [
        ConverterSpec(
            id=f"archive.{engine}:{ANY}->{fmt}",
            source=ANY,
            target=fmt,
            run=run,
            cardinality=Cardinality.MANY_TO_ONE,
            options=OptionsSchema.of(*options),
            description=f"files packed into one {fmt} archive, in the order given",
        )
        for engine, fmt, run, options in PACKERS
    ]
    unpackers = [
        ConverterSpec(
            id=f"archive.{engine}:{fmt}->{ANY}",
            source=fmt,
            target=ANY,
            run=run,
            cardinality=Cardinality.ONE_TO_MANY,
            options=OptionsSchema.of(*options),
            description=f"the files of a {fmt} archive; links and special files are skipped",
        )
        for engine, fmt, run, options in UNPACKERS
    ]
    return packers + unpackers


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    for spec in all_specs():
        converters.add(spec)
