"""How much a page's drawing instructions inflate to, measured before PDFium reads them.

PDFium decodes a page's content streams, the forms it draws and its embedded fonts whole
into memory: a Flate stream of 1 MB can inflate to 1 GiB, and then costs 2 GB to render or
to read the text of. Here each such stream is inflated once, a chunk at a time, counting
bytes and keeping none, and a page whose streams add up to more than
:data:`MAX_PAGE_BYTES` is refused before PDFium sees it. LZW and run-length streams (an
LZW code can stand for 4 KiB) are measured the same way, by counting what each code
stands for, after any ASCII armour. Streams whose filters cannot expand them past the limit
are decoded by qpdf; so are the rare chains of other shapes, under the worker's memory cap.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from collections.abc import Callable, Iterator

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
    names = _filter_names(stream)
    raw = stream.read_raw_bytes()
    if all(name in _FLATE for name in names):
        return _inflated(raw, len(names), limit) if names else len(raw)
    *armour, last = names
    counter = _COUNTERS.get(last)
    could_exceed = len(raw) * math.prod(_GROWTH.get(n, math.inf) for n in names) > limit
    if could_exceed and counter is not None and all(name in _ARMOUR for name in armour):
        try:
            data = _unarmoured(raw, armour)
        except ValueError:
            return 0  # undecodable: PDFium draws nothing of it
        return counter(data, limit, _early_change(stream))
    try:
        return len(stream.read_bytes())
    except pikepdf.PdfError:
        return 0


def flate_layers(stream: pikepdf.Stream) -> int | None:
    """How many Flate encodings ``stream`` has (0: none), None when it has other filters."""
    names = _filter_names(stream)
    return len(names) if all(name in _FLATE for name in names) else None


def _filter_names(stream: pikepdf.Stream) -> list[str]:
    filters = stream.get("/Filter")
    return [str(f) for f in ([filters] if isinstance(filters, pikepdf.Name) else list(filters or []))]


def _early_change(stream: pikepdf.Stream) -> int:
    params = stream.get("/DecodeParms")
    last = params[-1] if isinstance(params, pikepdf.Array) and len(params) else params
    value = last.get("/EarlyChange", 1) if isinstance(last, pikepdf.Dictionary) else 1
    return 0 if value == 0 else 1


def _unarmoured(data: bytes, filters: list[str]) -> bytes:
    """``data`` with its ASCII armour (hex, base-85) taken off; ``ValueError`` when damaged."""
    for name in filters:
        text = re.sub(rb"\s+", b"", data)
        if name in ("/ASCIIHexDecode", "/AHx"):
            text = text.split(b">", 1)[0]
            data = binascii.unhexlify(text + b"0" * (len(text) % 2))
        else:
            data = base64.a85decode(text.split(b"~>", 1)[0])
    return data


def _lzw_size(data: bytes, limit: int, early: int) -> int:
    """Bytes the LZW codes of ``data`` stand for, counted up to ``limit``: only the length of
    each table entry is kept, never the bytes."""
    lengths = [1] * 256 + [0, 0]  # 256: clear the table, 257: end of data
    width, previous, total, bits, held = 9, -1, 0, 0, 0
    for byte in data:
        bits, held = (bits << 8) | byte, held + 8
        while held >= width:
            held -= width
            code = bits >> held
            bits &= (1 << held) - 1
            if code == 256:
                del lengths[258:]
                width, previous = 9, -1
                continue
            if code == 257 or code > len(lengths) or (previous < 0 and code > 255):
                return min(total, limit)  # the end, or damage: PDFium stops there too
            length = lengths[code] if code < len(lengths) else lengths[previous] + 1
            if previous >= 0 and len(lengths) < 4096:
                lengths.append(lengths[previous] + 1)
            total += length
            if total >= limit:
                return limit
            previous = code
            width = min(12, max(9, (len(lengths) + early).bit_length()))
    return min(total, limit)


def _run_length_size(data: bytes, limit: int, early: int = 1) -> int:
    """Bytes the run-length runs of ``data`` stand for, counted up to ``limit``."""
    total, at = 0, 0
    while at < len(data) and total < limit:
        length = data[at]
        if length == 128:
            break
        if length < 128:
            total, at = total + length + 1, at + length + 2
        else:
            total, at = total + 257 - length, at + 2
    return min(total, limit)


_FLATE = ("/FlateDecode", "/Fl")
_ARMOUR = ("/ASCIIHexDecode", "/AHx", "/ASCII85Decode", "/A85")
#: The most each filter can multiply a stream's size by (Flate: no bound worth stating).
_GROWTH = {"/ASCIIHexDecode": 1, "/AHx": 1, "/ASCII85Decode": 4, "/A85": 4}
_GROWTH |= {"/RunLengthDecode": 128, "/RL": 128, "/LZWDecode": 4096, "/LZW": 4096}
_COUNTERS: dict[str, Callable[[bytes, int, int], int]] = {
    "/LZWDecode": _lzw_size,
    "/LZW": _lzw_size,
    "/RunLengthDecode": _run_length_size,
    "/RL": _run_length_size,
}


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
