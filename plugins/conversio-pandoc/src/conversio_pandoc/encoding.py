"""Text inputs handed to Pandoc as UTF-8, the only encoding it reads.

Pandoc reads anything else as Latin-1 and says so only in a warning: a UTF-16 file would come
out as spaced-out gibberish, Windows-1252 quotes and dashes as control characters. As the core's
sniffing and Chromium's Markdown do, text is UTF-8, or UTF-16 with its byte order mark, or else
Windows-1252.
"""

from __future__ import annotations

import codecs
from pathlib import Path

_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def utf8_text(path: Path, folder: Path) -> Path:
    """``path`` when it is UTF-8 text, else a UTF-8 copy of it in ``folder``."""
    data = path.read_bytes()
    if data.startswith(_UTF16):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        else:
            return path
    copy = folder / "input-utf8.txt"
    copy.write_text(text, encoding="utf-8")
    return copy
