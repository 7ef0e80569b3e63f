"""How much a page's drawing instructions inflate to, measured before PDFium reads them.

PDFium decodes a page's content streams, the forms it draws and its embedded fonts whole
into memory: a Flate stream of 1 MB can inflate to 1 GiB, and then costs 2 GB to render or
to read the text of. Here each such stream is inflated once, a chunk at a time, counting
bytes and keeping none, and a page whose streams add up to more than
:data:`MAX_PAGE_BYTES` is refused before PDFium sees it. Streams with other filters (rare
in the drawing instructions of a page) are decoded by qpdf, under the worker's memory cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pikepdf

from conversio.errors import FileTooLarge

#: The most a page's content streams, forms and fonts may inflate to together.
MAX_PAGE_BYTES = 256 * 1024 * 1024
#: Inflate a chunk of at most this many bytes at a time.
CHUNK = 4 * 1024 * 1024
_FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


def check_inflation(pdf: pikepdf.Pdf, name: str, limit: int = MAX_PAGE_BYTES) -> None:
    """``FILE_TOO_LARGE`` when a page's drawing instructions inflate to more than ``limit`` bytes."""
    sizes: dict[tuple[int, int], int] = {}  # a stream shared by pages is inflated once
    for number, page in enumerate(pdf.pages, 1):
        total = 0
        for stream in _page_streams(page.obj):
            if stream.objgen not in sizes:
                sizes[stream.objgen] = inflated_size(stream, limit + 1)
            total += sizes[stream.objgen]
            if total > limit:
                raise FileTooLarge(
                    f"{name}: the drawing instructions of page {number} unpack to more than "
                    f"{limit // (1024 * 1024)} MiB, more than the limit; it cannot be converted",
                    file=name,
                    page=number,
                    limit=limit,
                )


def inflated_size(stream: pikepdf.Stream, limit: int) -> int:
    """The decoded size of ``stream``, counted up to ``limit`` (a larger one answers ``limit``)."""
    layers = flate_layers(stream)
    if layers is None:
        try:
            return len(stream.read_bytes())
        except pikepdf.PdfError:
            return 0  # undecodable: PDFium draws nothing of it
    data = stream.read_raw_bytes()
    return _inflated(data, layers, limit) if layers else len(data)


def flate_layers(stream: pikepdf.Stream) -> int | None:
    """How many Flate encodings ``stream`` has (0: none), None when it has other filters."""
    filters = stream.get("/Filter")
    names = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    if any(str(f) not in ("/FlateDecode", "/Fl") for f in names):
        return None
    return len(names)


def _inflated(data: bytes, layers: int, limit: int) -> int:
    """Bytes out of ``layers`` nested Flate encodings of ``data``, counted up to ``limit``."""
    decoders = [zlib.decompressobj() for _ in range(layers)]
    total = 0

    def feed(level: int, chunk: bytes) -> None:
        nonlocal total
        decoder = decoders[level]
        while total < limit and not decoder.eof:
            out = decoder.decompress(chunk, CHUNK)
            chunk = decoder.unconsumed_tail
            if not out and not chunk:
                return  # all of it in; more comes with the next chunk from the level above
            if level + 1 == layers:
                total += len(out)
            else:
                feed(level + 1, out)

    try:
        feed(0, data)
    except zlib.error:
        pass  # damaged from here on: PDFium draws what came before
    return min(total, limit)


def _page_streams(page: pikepdf.Dictionary) -> Iterator[pikepdf.Stream]:
    """The page's content streams, and those of the forms and fonts its resources hold."""
    contents = page.get("/Contents")
    for item in contents if isinstance(contents, pikepdf.Array) else [contents]:
        if isinstance(item, pikepdf.Stream):
            yield item
    yield from _resource_streams(_resources(page), set())


def _resources(page: pikepdf.Dictionary) -> pikepdf.Dictionary | None:
    """The page's resources, inherited from its page tree when it has none itself."""
    node: object = page
    for _ in range(64):  # a page tree deeper than this is not one
        if not isinstance(node, pikepdf.Dictionary):
            return None
        resources = node.get("/Resources")
        if isinstance(resources, pikepdf.Dictionary):
            return resources
        node = node.get("/Parent")
    return None


def _resource_streams(resources: object, seen: set[tuple[int, int]]) -> Iterator[pikepdf.Stream]:
    if not isinstance(resources, pikepdf.Dictionary):
        return
    xobjects = resources.get("/XObject")
    if isinstance(xobjects, pikepdf.Dictionary):
        for xobject in xobjects.values():
            if not isinstance(xobject, pikepdf.Stream) or xobject.get("/Subtype") != "/Form":
                continue
            if xobject.objgen in seen:
                continue
            seen.add(xobject.objgen)
            yield xobject
            yield from _resource_streams(xobject.get("/Resources"), seen)
    fonts = resources.get("/Font")
    if isinstance(fonts, pikepdf.Dictionary):
        for font in fonts.values():
            yield from _font_streams(font, seen)


def _font_streams(font: object, seen: set[tuple[int, int]]) -> Iterator[pikepdf.Stream]:
    """A font's embedded font file (its descendant's, for a composite font)."""
    if not isinstance(font, pikepdf.Dictionary):
        return
    descendants = font.get("/DescendantFonts")
    fonts = list(descendants) if isinstance(descendants, pikepdf.Array) else []
    for each in [font, *fonts[:1]]:
        descriptor = each.get("/FontDescriptor") if isinstance(each, pikepdf.Dictionary) else None
        if not isinstance(descriptor, pikepdf.Dictionary):
            continue
        for key in _FONT_FILES:
            stream = descriptor.get(key)
            if isinstance(stream, pikepdf.Stream) and stream.objgen not in seen:
                seen.add(stream.objgen)
                yield stream
