"""A CSV file's encoding and separator, as LibreOffice's CSV filter options.

LibreOffice reads a CSV with exactly the separator and character set it is told
("Text - txt - csv (StarCalc)" FilterOptions: ``separator,quote,charset,first line``), so a
semicolon file read with commas puts every row in one cell, and a Windows-1252 file read as
UTF-8 shows ``�`` for every ``é``. Both are guessed here from the file's first 64 KiB.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import attrs

SAMPLE_BYTES = 64 * 1024
SEPARATORS = ",;\t|"
#: LibreOffice's text encoding numbers (rtl_TextEncoding).
UTF8, UTF16, WINDOWS_1252, LATIN_1 = 76, 65535, 1, 12
_QUOTE = 34


@attrs.frozen
class CsvDialect:
    """What LibreOffice needs to read one CSV file."""

    separator: str
    encoding: int

    def filter_options(self) -> str:
        """The FilterOptions token string: separator, double quote, charset, from line 1."""
        return f"{ord(self.separator)},{_QUOTE},{self.encoding},1"


def sniff(path: Path) -> CsvDialect:
    """The encoding (by BOM, else UTF-8 if it decodes, else Windows-1252 or Latin-1) and the
    separator (the one that splits the sample's records most consistently)."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    encoding, text = _decode(head)
    return CsvDialect(_separator(text), encoding)


def _decode(head: bytes) -> tuple[int, str]:
    if head.startswith(codecs.BOM_UTF8):
        return UTF8, head[3:].decode("utf-8", "replace")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return UTF16, head.decode("utf-16", "replace")
    try:
        return UTF8, codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    try:
        return WINDOWS_1252, head.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: not Windows-1252
        return LATIN_1, head.decode("latin-1")


def _separator(text: str) -> str:
    """The separator whose field count is the same on the most records (then the most fields)."""
    records = list(_records(text))[:200]
    best, score = ",", (-1, -1)
    for candidate in SEPARATORS:
        counts = [len(row) for row in csv.reader(records, delimiter=candidate)]
        counts = [n for n in counts if n > 1]
        if not counts:
            continue
        common = max(set(counts), key=counts.count)
        found = (counts.count(common), common)
        if found > score:
            best, score = candidate, found
    return best


def _records(text: str) -> list[str]:
    """Whole records (a quoted field may hold newlines); the last, maybe cut, line is dropped."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]
    return lines
