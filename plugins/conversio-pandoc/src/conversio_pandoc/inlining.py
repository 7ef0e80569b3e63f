"""Images Pandoc extracted from a document, put back into the HTML it wrote as ``data:`` URIs.

Only ``src`` attributes naming a file of the extraction folder are replaced: the page refers
to nothing on the host, and anything else it names (a web address in the document) is left
as written, for the browser's own rules to judge.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path

_SOURCE = re.compile(r'\bsrc="([^"]+)"')


def inline_images(page: Path, folder: Path, media: str) -> None:
    """Replace, in the HTML file ``page``, each ``src`` naming a file under ``folder/media``
    by that file's bytes as a ``data:`` URI."""
    root = (folder / media).resolve()
    cache: dict[str, str] = {}

    def data_uri(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith(f"{media}/"):
            return match.group(0)
        if name not in cache:
            path = (folder / name).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                return match.group(0)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            cache[name] = f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
        return f'src="{cache[name]}"'

    page.write_text(_SOURCE.sub(data_uri, page.read_text(encoding="utf-8")), encoding="utf-8")
