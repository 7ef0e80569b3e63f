"""The converter functions: one document to another, and Markdown with its images as a
TextBundle zip (``text.md``, ``assets/``, ``info.json``).

HTML made of a Word, OpenDocument or EPUB file carries that file's images inline
(:mod:`conversio_pandoc.inlining`), so that the page is whole on its own and prints whole.
HTML that Pandoc writes carries a Content-Security-Policy that forbids every script (inline,
``onerror=`` and ``javascript:`` ones included): raw HTML in a Markdown or reStructuredText
document is kept, as Pandoc keeps it, but a document is for reading, not running, both in the
browser that prints it and in the one a user opens it in.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

from conversio.converters import ConversionRequest, Output, with_extension
from conversio.errors import EmptyFile, FileTooLarge
from conversio_pandoc.containers import check_container
from conversio_pandoc.encoding import utf8_text
from conversio_pandoc.engine import run_pandoc
from conversio_pandoc.formats import WITH_MEDIA, pandoc_name
from conversio_pandoc.inlining import inline_images

MIB = 1024 * 1024
#: The most text converted: Pandoc holds a document's whole tree in memory, several times its size.
MAX_TEXT_SIZE = 32 * MIB
CSP = "script-src 'none'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'"
#: A TextBundle's ``info.json`` (version 2) says what its text is.
TEXTBUNDLE_INFO = {"version": 2, "type": "net.daringfireball.markdown", "transient": False}
EXTENSIONS = {"latex": "tex", "asciidoc": "adoc"}
#: Targets that keep the images of a document themselves.
KEEP_IMAGES = ("docx", "odt", "epub", "html")
#: The metadata a target needs a title in (the file's name, unless the document has one): an
#: HTML page's ``<title>``, an EPUB's ``dc:title``.
TITLES = {"html": "pagetitle", "epub": "title"}


def convert(request: ConversionRequest) -> list[Output]:
    """The input as ``request.target``, one file."""
    source, target = request.input, request.target
    images = _check_input(request)
    media = "media" if target == "html" and source.format in WITH_MEDIA else ""
    out = request.output(with_extension(source.name, EXTENSIONS.get(target, target)))
    with tempfile.TemporaryDirectory(prefix="conversio-pandoc-") as scratch:
        folder = Path(scratch)
        run_pandoc(_arguments(request, target, out.path, folder, media), request, folder)
        if media:
            inline_images(out.path, folder, media)
    if images and target not in KEEP_IMAGES:
        request.warn(
            f"{source.name}: its {images} image(s) are not kept in {target}; "
            "convert it to textpack (a zip of Markdown and its images) to keep them"
        )
    return [out]


def to_textpack(request: ConversionRequest) -> list[Output]:
    """The input as Markdown with its images: a TextBundle zip (``text.md``, ``assets/``,
    ``info.json``), the links in the Markdown pointing into ``assets/``."""
    _check_input(request)
    out = request.output(with_extension(request.input.name, "textpack"))
    with tempfile.TemporaryDirectory(prefix="conversio-pandoc-") as scratch:
        folder = Path(scratch)
        run_pandoc(_arguments(request, "textpack", folder / "text.md", folder, "assets"), request, folder)
        (folder / "info.json").write_text(json.dumps(TEXTBUNDLE_INFO, indent=2) + "\n", encoding="utf-8")
        assets = sorted(p for p in (folder / "assets").rglob("*") if p.is_file())
        with zipfile.ZipFile(out.path, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in [folder / "text.md", folder / "info.json", *assets]:
                archive.write(path, path.relative_to(folder).as_posix())
    return [out]


def _check_input(request: ConversionRequest) -> int:
    """The number of images a zipped input holds (0 for text), once its zip is checked; an empty
    input is ``EMPTY_FILE`` (Pandoc would make an empty document of it), text past
    :data:`MAX_TEXT_SIZE` ``FILE_TOO_LARGE``."""
    source = request.input
    size = source.path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{source.name} is empty (0 bytes): there is nothing to convert", file=source.name)
    if source.format in WITH_MEDIA:
        return check_container(source.path, source.name, request.limits)
    if size > MAX_TEXT_SIZE:
        raise FileTooLarge(
            f"{source.name} is {size // MIB} MiB of text; at most {MAX_TEXT_SIZE // MIB} MiB is converted",
            limit="max_text_size",
        )
    return 0


def _arguments(request: ConversionRequest, target: str, out: Path, folder: Path, media: str) -> list[str]:
    """Pandoc's arguments for ``request``'s input into ``out`` as ``target`` (images extracted
    into ``media``, relative to ``folder``, when given)."""
    flavour = request.options.get("flavour", "gfm")
    defaults = folder / "defaults.json"  # a title the document has wins over these
    stem = Path(request.input.name).stem or "document"
    defaults.write_text(json.dumps({TITLES[target]: stem} if target in TITLES else {}))
    arguments = [
        f"--from={pandoc_name(request.source, flavour)}",
        f"--to={pandoc_name(target, flavour)}",
        "--standalone",
        "--wrap=none",
        f"--metadata-file={defaults}",
        f"--output={out}",
    ]
    if target == "html":
        csp = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        arguments.append(f"--variable=header-includes:{csp}")
    if media:
        arguments.append(f"--extract-media={media}")
    if request.options.get("toc"):
        arguments.append("--toc")
    source = request.input.path if request.source in WITH_MEDIA else utf8_text(request.input.path, folder)
    return [*arguments, "--", str(source)]
