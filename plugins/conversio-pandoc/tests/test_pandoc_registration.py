"""conversio-pandoc is found through its entry point, declares its formats, finds Pandoc, and
turns Pandoc's failures into conversio's codes."""

from __future__ import annotations

import importlib.util
import subprocess
import zipfile
from pathlib import Path
from typing import ClassVar

import pytest
from conftest import word_document
from conversio_pandoc.engine import failure, heap_limit, pandoc_binary
from conversio_pandoc.specs import INSTALL_HINT, pairs

from conversio.errors import MissingDependency
from conversio.testing import ConverterContract, make_conversio

MIB = 1024 * 1024
MEMORY = "converting it needs more memory than the limit allows"
NOT_READ = "which conversio does not read: put that file's content into the document"


def test_the_plugin_loads() -> None:
    app = make_conversio("conversio_pandoc.plugin", cache=False)
    try:
        assert "conversio_pandoc.plugin" in {p.name for p in app.plugins if p.status == "loaded"}
        for extension, name in {"tex": "latex", "rst": "rst", "adoc": "asciidoc", "org": "org"}.items():
            assert app.registry.formats.by_extension(extension).name == name  # type: ignore[union-attr]
    finally:
        app.close()


def test_the_wheel_brings_pandoc_3() -> None:

    version = subprocess.run(
        [pandoc_binary(), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert version.stdout.startswith("pandoc 3.")


def test_without_the_wheel_pandoc_is_a_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependency) as info:
        pandoc_binary()
    assert str(info.value) == f"MISSING_DEPENDENCY: Pandoc is not installed; {INSTALL_HINT}"


def test_the_heap_cap_follows_the_engine_cap() -> None:
    assert heap_limit(2048 * MIB) == 1024 * MIB
    assert heap_limit(512 * MIB) == 256 * MIB
    assert heap_limit(64 * MIB) == 64 * MIB
    assert heap_limit(0) == 1024 * MIB


@pytest.mark.parametrize(
    ("returncode", "said", "expected"),
    [
        (
            251,
            "pandoc: Heap exhausted;",
            "FILE_TOO_LARGE: a.md: converting it needs more memory than the limit allows",
        ),
        (2, "stack overflow", "FILE_TOO_LARGE: a.md: it is nested too deeply to convert"),
        (-9, "", "CONVERSION_FAILED: converting a.md to html: Pandoc stopped unexpectedly (signal 9)"),
        (
            99,
            "File /etc/x not found",
            "CONVERSION_FAILED: a.md includes another file, which conversio does not read: "
            "put that file's content into the document",
        ),
        (64, "couldn't parse /srv/x", "CORRUPT_FILE: a.md is damaged or is not a md file conversio can read"),
        (1, "/srv/store/x: odd", "CONVERSION_FAILED: a.md could not be converted to html by Pandoc"),
    ],
)
def test_pandoc_failures_get_codes_and_no_paths(returncode: int, said: str, expected: str) -> None:
    error = failure("a.md", "md", "html", returncode, said)
    assert str(error) == expected
    assert "/srv" not in str(error) and "/etc" not in str(error)


def test_every_pandoc_pair_is_converted_in_one_step() -> None:
    app = make_conversio("conversio_pandoc.plugin", cache=False)
    try:
        for source, target in pairs():
            [step] = app.route(source, target).steps
            assert step.converter == f"pandoc:{source}->{target}"
    finally:
        app.close()


class TestMarkdownToWord(ConverterContract):
    plugin = "conversio_pandoc.plugin"
    converter_id = "pandoc:md->docx"
    heavy_modules = ("conversio_pandoc.convert", "conversio_pandoc.engine", "docx")
    options: ClassVar[dict[str, object]] = {"flavour": "commonmark"}

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "notes.md"
        path.write_text("# Notes\n\nA line.\n")
        return path

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        return None  # any text is some Markdown


class TestWordToTextpack(ConverterContract):
    plugin = "conversio_pandoc.plugin"
    converter_id = "pandoc:docx->textpack"

    def make_sample(self, tmp_path: Path) -> Path:
        return word_document(tmp_path / "report.docx", image=True)


def test_only_a_textbundle_zip_is_a_textpack(tmp_path: Path) -> None:
    app = make_conversio("conversio_pandoc.plugin", cache=False)
    bundle, plain = tmp_path / "notes.textpack", tmp_path / "other.textpack"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("text.md", "# Notes\n")
        archive.writestr("info.json", "{}")
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("text.md", "# Notes\n")
    try:
        assert app.sniff(bundle).format == "textpack"
        assert app.sniff(plain).format == "zip"
    finally:
        app.close()
