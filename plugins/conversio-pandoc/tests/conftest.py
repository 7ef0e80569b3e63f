"""Fixtures of the conversio-pandoc tests: the real Pandoc of the wheel, documents made here."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from PIL import Image

import conversio
from conversio.api import Result
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

PLUGIN = "conversio_pandoc.plugin"
Convert = Callable[..., Result]


@pytest.fixture
def app() -> Iterator[conversio.Conversio]:
    """conversio with only the built-in plugin and this one, inline, in memory, without a cache."""
    instance = make_conversio(PLUGIN, cache=False, limits=Limits(timeout=60))
    yield instance
    instance.close()


@pytest.fixture
def convert(app: conversio.Conversio, tmp_path: Path) -> Convert:
    """``convert(content, name, to, **options)``: the result of converting a file called ``name``
    holding ``content`` to ``to`` (its files saved under ``tmp_path/out-<to>``)."""

    def run(content: str | bytes | Path, name: str, to: str, **options: Any) -> Result:
        source = tmp_path / name
        if isinstance(content, Path):
            source.write_bytes(content.read_bytes())
        else:
            source.write_bytes(content.encode() if isinstance(content, str) else content)
        return app.convert(source, to=to, options=options or None).run()

    return run


def saved(result: Result, folder: Path) -> Path:
    """The single file of ``result``, saved into ``folder`` (made if need be)."""
    folder.mkdir(parents=True, exist_ok=True)
    [path] = result.save(folder)
    return path


def refused(convert: Convert, content: str | bytes | Path, name: str, to: str) -> ConversioError:
    """The error converting ``content`` gives (the test fails if it converts)."""
    with pytest.raises(ConversioError) as info:
        convert(content, name, to)
    return info.value


def png(colour: str = "red", size: int = 24) -> bytes:
    """A small PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    return buffer.getvalue()


def word_document(path: Path, *, image: bool = False) -> Path:
    """A Word document at ``path`` with a heading, a paragraph, a list, a table (and an image)."""
    document = docx.Document()
    document.add_heading("Quarterly Report", level=1)
    document.add_paragraph("Revenue grew steadily across every region this quarter.")
    for item in ("alpha item", "beta item"):
        document.add_paragraph(item, style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for (row, col), text in {(0, 0): "Region", (0, 1): "Sales", (1, 0): "North", (1, 1): "42"}.items():
        table.cell(row, col).text = text
    if image:
        document.add_picture(io.BytesIO(png()))
    document.save(str(path))
    return path


def zip_members(path: Path) -> dict[str, bytes]:
    """The members of the zip at ``path``, by name."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}
