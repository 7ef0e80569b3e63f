"""The file LibreOffice opens: the user's file under the user's own name, in a private folder.

LibreOffice prints a document's file name (Calc's default header and its sheet name for a
CSV, Writer's file-name fields), so it must open a file called what the user called it,
never a store hash or a temporary name. The input is linked there (copied across file
systems); an HTML page is rewritten without the constructs that crash LibreOffice 7.4's HTML
import when it is driven over UNO (measured: a ``<noscript>`` holding an ``<img>``, as on every
Wikipedia page; two ``<meta name>`` of one name, as Dublin Core pages have). Neither is
shown by a printed page: ``<noscript>`` is for browsers that run no scripts, ``<meta name>``
is metadata.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from conversio.converters import safe_filename

_NOSCRIPT = re.compile(rb"<noscript\b.*?</noscript\s*>", re.IGNORECASE | re.DOTALL)
_META_NAME = re.compile(rb"<meta\b(?=[^>]*\bname\s*=)[^>]*>", re.IGNORECASE)


def staged_name(name: str, extension: str) -> str:
    """The user's file name made safe, with the format's extension if it has none."""
    safe = safe_filename(name, default=f"document.{extension}")
    return safe if "." in safe.lstrip(".") else f"{safe}.{extension}"


def stage(source: Path, name: str, extension: str, folder: Path) -> Path:
    """``source`` as ``folder/<the user's name>``: linked, copied, or for HTML rewritten."""
    staged = folder / staged_name(name, extension)
    if extension == "html":
        staged.write_bytes(clean_html(source.read_bytes()))
        return staged
    try:
        os.link(source, staged)
    except OSError:
        shutil.copyfile(source, staged)
    return staged


def clean_html(page: bytes) -> bytes:
    """``page`` without ``<noscript>`` blocks and ``<meta name=...>`` tags (the bytes as they are
    otherwise: the charset it declares still holds)."""
    return _META_NAME.sub(b"", _NOSCRIPT.sub(b"", page))
