"""conversio-archive: pack files into zip, tar (gz, bz2, xz) and 7z, and unpack them safely.

The hooks are in :mod:`conversio_archive.plugin`; the converters in
:mod:`conversio_archive.zips`, :mod:`conversio_archive.tars` and
:mod:`conversio_archive.sevenzip`; the safety rules of unpacking in
:mod:`conversio_archive.extraction`, :mod:`conversio_archive.budget` and
:mod:`conversio_archive.names`.
"""

__version__ = "0.1.0"
