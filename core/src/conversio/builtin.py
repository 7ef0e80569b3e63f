"""The built-in plugin: the common format catalogue, container sniffing, stores.

It is an ordinary plugin (dogfooding): everything here goes through the same
hooks a third-party plugin uses.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from pathlib import Path

from conversio.formats import Format, Kind, Magic
from conversio.hookspecs import hookimpl
from conversio.registry import ConverterRegistrar, FormatRegistrar, StoreRegistrar

D, S, P, I, A, V, R, T = (
    Kind.DOCUMENT,
    Kind.SPREADSHEET,
    Kind.PRESENTATION,
    Kind.IMAGE,
    Kind.AUDIO,
    Kind.VIDEO,
    Kind.ARCHIVE,
    Kind.TEXT,
)
OLE2 = Magic(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
EBML = Magic(b"\x1a\x45\xdf\xa3")


def _riff(kind: bytes) -> tuple[Magic, ...]:
    return (Magic(b"RIFF"), Magic(kind, 8))


CATALOGUE: tuple[Format, ...] = (
    # images
    Format(
        "jpg",
        I,
        "JPEG image",
        ("jpg", "jpeg", "jpe", "jfif"),
        ("image/jpeg",),
        ("jpeg",),
        (Magic(b"\xff\xd8\xff"),),
    ),
    Format("png", I, "PNG image", ("png",), ("image/png",), (), (Magic(b"\x89PNG\r\n\x1a\n"),)),
    Format(
        "gif",
        I,
        "GIF image (may be animated)",
        ("gif",),
        ("image/gif",),
        (),
        (Magic(b"GIF87a"), Magic(b"GIF89a")),
    ),
    Format("webp", I, "WebP image", ("webp",), ("image/webp",), (), _riff(b"WEBP"), magic_all=True),
    # "BM" alone starts many a text ("BMW,Audi"); the DIB header size after it is < 64 KiB: two NULs.
    Format(
        "bmp",
        I,
        "Windows bitmap",
        ("bmp", "dib"),
        ("image/bmp",),
        (),
        (Magic(b"BM"), Magic(b"\0\0", 16)),
        magic_all=True,
    ),
    Format(
        "tiff",
        I,
        "TIFF image (may have many pages)",
        ("tif", "tiff"),
        ("image/tiff",),
        ("tif",),
        # classic TIFF, and BigTIFF (64-bit offsets) in both byte orders
        (Magic(b"II*\x00"), Magic(b"MM\x00*"), Magic(b"II+\x00"), Magic(b"MM\x00+")),
    ),
    Format(
        "ico",
        I,
        "Windows icon",
        ("ico",),
        ("image/vnd.microsoft.icon", "image/x-icon"),
        (),
        (Magic(b"\x00\x00\x01\x00"),),
    ),
    Format("avif", I, "AV1 image", ("avif",), ("image/avif",)),
    Format("heic", I, "HEIF/HEIC image", ("heic", "heif", "hif"), ("image/heic", "image/heif"), ("heif",)),
    Format("svg", I, "SVG vector image", ("svg",), ("image/svg+xml",)),
    # documents
    Format("pdf", D, "PDF document", ("pdf",), ("application/pdf",), (), (Magic(b"%PDF-"),)),
    Format(
        "docx",
        D,
        "Word document",
        ("docx",),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
    ),
    Format("doc", D, "Word 97-2003 document", ("doc",), ("application/msword",)),
    Format("odt", D, "OpenDocument text", ("odt",), ("application/vnd.oasis.opendocument.text",)),
    Format("rtf", D, "Rich Text Format", ("rtf",), ("application/rtf", "text/rtf"), (), (Magic(b"{\\rtf"),)),
    Format("epub", D, "EPUB e-book", ("epub",), ("application/epub+zip",)),
    Format(
        "xlsx",
        S,
        "Excel workbook",
        ("xlsx",),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",),
    ),
    Format("xls", S, "Excel 97-2003 workbook", ("xls",), ("application/vnd.ms-excel",)),
    Format(
        "ods", S, "OpenDocument spreadsheet", ("ods",), ("application/vnd.oasis.opendocument.spreadsheet",)
    ),
    Format(
        "pptx",
        P,
        "PowerPoint presentation",
        ("pptx",),
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation",),
    ),
    Format("ppt", P, "PowerPoint 97-2003 presentation", ("ppt",), ("application/vnd.ms-powerpoint",)),
    Format(
        "odp", P, "OpenDocument presentation", ("odp",), ("application/vnd.oasis.opendocument.presentation",)
    ),
    # text
    Format("txt", T, "Plain text", ("txt", "text", "log"), ("text/plain",), ("text",)),
    Format("csv", T, "Comma-separated values", ("csv",), ("text/csv",)),
    Format("html", T, "HTML page", ("html", "htm"), ("text/html",), ("htm",)),
    Format("md", T, "Markdown", ("md", "markdown"), ("text/markdown",), ("markdown",)),
    Format("json", T, "JSON", ("json",), ("application/json",)),
    Format("xml", T, "XML", ("xml",), ("application/xml", "text/xml")),
    # text that is a program or a list of other files: recognised so that a file named as a
    # picture or a video is refused for what it is, never rendered as text (nothing reads them)
    Format(
        "ps",
        T,
        "PostScript program",
        ("ps", "eps", "epsf"),
        ("application/postscript",),
        ("eps",),
        (Magic(b"%!PS"), Magic(b"\xc5\xd0\xd3\xc6")),
    ),
    Format(
        "mvg",
        T,
        "MVG vector-drawing script",
        ("mvg",),
        ("image/x-mvg",),
        (),
        (Magic(b"push graphic-context"), Magic(b"viewbox ")),
    ),
    Format(
        "m3u",
        T,
        "M3U playlist",
        ("m3u", "m3u8"),
        ("audio/x-mpegurl", "application/vnd.apple.mpegurl"),
        ("m3u8", "hls"),
        (Magic(b"#EXTM3U"), Magic(b"\xef\xbb\xbf#EXTM3U")),
    ),
    Format("pls", T, "PLS playlist", ("pls",), ("audio/x-scpls",), (), (Magic(b"[playlist]"),)),
    Format("ffconcat", T, "FFmpeg concat list", ("ffconcat",), (), (), (Magic(b"ffconcat version"),)),
    Format(
        "sdp",
        T,
        "SDP stream description",
        ("sdp",),
        ("application/sdp",),
        (),
        (Magic(b"v=0\r\n"), Magic(b"v=0\n")),
    ),
    # audio
    Format(
        "mp3",
        A,
        "MP3 audio",
        ("mp3",),
        ("audio/mpeg",),
        (),
        # MPEG audio layer III frame sync: MPEG-1, -2 and -2.5, with and without CRC (an ID3v2
        # tag before it is skipped by the sniffer, as it may come before FLAC or WAV too)
        (
            Magic(b"\xff\xfb"),
            Magic(b"\xff\xfa"),
            Magic(b"\xff\xf3"),
            Magic(b"\xff\xf2"),
            Magic(b"\xff\xe3"),
            Magic(b"\xff\xe2"),
        ),
    ),
    Format(
        "wav",
        A,
        "WAVE audio",
        ("wav", "wave"),
        ("audio/wav", "audio/x-wav"),
        (),
        _riff(b"WAVE"),
        magic_all=True,
    ),
    Format("flac", A, "FLAC audio", ("flac",), ("audio/flac",), (), (Magic(b"fLaC"),)),
    Format("ogg", A, "Ogg Vorbis audio", ("ogg", "oga"), ("audio/ogg",), ("vorbis",), (Magic(b"OggS"),)),
    Format("opus", A, "Ogg Opus audio", ("opus",), ("audio/opus",)),
    Format("m4a", A, "AAC audio in MP4", ("m4a", "aac"), ("audio/mp4", "audio/aac"), ("aac",)),
    # video
    Format("mp4", V, "MP4 video", ("mp4", "m4v"), ("video/mp4",)),
    Format("mov", V, "QuickTime video", ("mov", "qt"), ("video/quicktime",)),
    Format("webm", V, "WebM video", ("webm",), ("video/webm",)),
    Format("mkv", V, "Matroska video", ("mkv",), ("video/x-matroska",), (), (EBML,)),
    Format("avi", V, "AVI video", ("avi",), ("video/x-msvideo",), (), _riff(b"AVI "), magic_all=True),
    Format("bin", Kind.DATA, "Unrecognised binary data", ("bin",), ("application/octet-stream",)),
    # archives
    Format(
        "zip",
        R,
        "ZIP archive",
        ("zip",),
        ("application/zip",),
        (),
        (Magic(b"PK\x03\x04"), Magic(b"PK\x05\x06")),
    ),
    Format("tar", R, "tar archive", ("tar",), ("application/x-tar",), (), (Magic(b"ustar", 257),)),
    Format("tar.gz", R, "gzip-compressed tar archive", ("tar.gz", "tgz"), ("application/gzip",), ("tgz",)),
    Format(
        "tar.bz2", R, "bzip2-compressed tar archive", ("tar.bz2", "tbz2"), ("application/x-bzip2",), ("tbz2",)
    ),
    Format("tar.xz", R, "xz-compressed tar archive", ("tar.xz", "txz"), ("application/x-xz",), ("txz",)),
    Format(
        "7z",
        R,
        "7-Zip archive",
        ("7z",),
        ("application/x-7z-compressed",),
        (),
        (Magic(b"7z\xbc\xaf\x27\x1c"),),
    ),
)

#: Which distribution adds which edges, for ``NO_ROUTE`` messages.
KNOWN_DISTRIBUTIONS: tuple[tuple[frozenset[Kind] | str, frozenset[Kind] | str, str], ...] = (
    (frozenset({I}), frozenset({I}), "conversio-image"),
    (frozenset({D, S, P, T}), "pdf", "conversio-office"),
    (frozenset({D, S, P}), frozenset({D, S, P}), "conversio-office"),
    ("pdf", frozenset({I, T}), "conversio-pdf"),
    (frozenset({I}), "pdf", "conversio-pdf"),
    ("pdf", "txt", "conversio-ocr"),
    (frozenset({I}), "txt", "conversio-ocr"),
    (frozenset({A, V}), frozenset({A, V, I}), "conversio-media"),
    (frozenset({R}), "*", "conversio-archive"),
    ("*", frozenset({R}), "conversio-archive"),
)


@hookimpl
def register_formats(formats: FormatRegistrar) -> None:
    for fmt in CATALOGUE:
        formats.add(fmt)


@hookimpl
def register_converters(converters: ConverterRegistrar) -> None:
    def names(spec: frozenset[Kind] | str) -> list[str]:
        if isinstance(spec, str):
            return [spec]
        return [f.name for f in CATALOGUE if f.kind in spec]

    for sources, targets, distribution in KNOWN_DISTRIBUTIONS:
        converters.suggest(names(sources), names(targets), distribution)


@hookimpl
def register_stores(stores: StoreRegistrar) -> None:
    from conversio.stores import open_filesystem_store, open_memory_store

    stores.add("memory", open_memory_store)
    stores.add("file", open_filesystem_store)


# -- sniffing of formats that share a container -----------------------------

_BMFF_BRANDS = {
    "avif": "avif", "avis": "avif",
    "heic": "heic", "heix": "heic", "hevc": "heic", "heim": "heic", "heis": "heic", "hevx": "heic",
    "mif1": "heic", "msf1": "heic",
    "M4A ": "m4a", "M4B ": "m4a", "M4P ": "m4a", "F4A ": "m4a",
    "qt  ": "mov",
}  # fmt: skip
_OLE_STREAMS = (("WordDocument", "doc"), ("Workbook", "xls"), ("Book", "xls"), ("PowerPoint Document", "ppt"))
_ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/epub+zip": "epub",
}
_OOXML = (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx"))
_OLE_SCAN_BYTES = 4 * 1024 * 1024


@hookimpl
def sniff_format(head: bytes, path: Path, name: str) -> str | None:
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    if head[4:8] == b"ftyp" or head[4:8] in _QUICKTIME_TOP_BOXES:
        return _sniff_bmff(head, path)
    if head.startswith(OLE2.data):
        return _sniff_ole(path, name)
    if head.startswith(b"OggS"):
        return "opus" if b"OpusHead" in head[:64] else "ogg"
    if head.startswith(EBML.data):
        return "webm" if b"webm" in head[:64] else "mkv"
    for magic, opener, name in _COMPRESSED:
        if head.startswith(magic):
            return name if _is_compressed_tar(path, opener) else None
    return None


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            if "mimetype" in names:
                info = zf.getinfo("mimetype")
                if info.file_size < 200:
                    mimetype = zf.read(info).decode("ascii", "replace").strip()
                    if mimetype in _ODF:
                        return _ODF[mimetype]
            if "[Content_Types].xml" in names:
                for prefix, name in _OOXML:
                    if any(n.startswith(prefix) for n in names):
                        return name
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        pass
    return "zip"


def _sniff_bmff(head: bytes, path: Path) -> str | None:
    """ISO base media files: the brands name images; the track handlers tell
    audio-only MP4 (m4a) from video."""
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[0:4], "big")
        brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
        # the generic HEIF brands (mif1, msf1) only say "an image": a codec brand (avif, heic) decides
        for brand in sorted(brands, key=lambda b: b in (b"mif1", b"msf1")):
            name = _BMFF_BRANDS.get(brand.decode("latin-1"))
            if name in ("avif", "heic", "m4a"):
                return name
        container = "mov" if brands[0] == b"qt  " else "mp4"
    else:
        container = "mov"
    handlers = _track_handlers(path)
    if handlers is None:
        return container if head[4:8] == b"ftyp" else None
    if b"vide" not in handlers and b"soun" in handlers:
        return "m4a"
    return container


_QUICKTIME_TOP_BOXES = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")
_MAX_MOOV = 64 * 1024 * 1024


def _track_handlers(path: Path) -> set[bytes] | None:
    """The handler types (``vide``, ``soun``) of the tracks, or None if no moov box."""
    with path.open("rb") as fh:
        for _ in range(64):  # a bounded walk over the top-level boxes
            header = fh.read(8)
            if len(header) < 8:
                return None
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1:
                size = int.from_bytes(fh.read(8), "big") - 8
            if kind == b"moov":
                moov = fh.read(min(size - 8, _MAX_MOOV))
                return {moov[i + 12 : i + 16] for i in _find_all(moov, b"hdlr")}
            if size < 8:
                return None
            fh.seek(size - 8, 1)
    return None


def _find_all(data: bytes, needle: bytes) -> list[int]:
    found, start = [], data.find(needle)
    while start != -1:
        found.append(start)
        start = data.find(needle, start + 1)
    return found


def _sniff_ole(path: Path, name: str) -> str | None:
    """Office 97 files by their streams. A password-protected docx/xlsx/pptx is also an OLE2
    file (an encrypted package), whose type only its ``name`` can tell: the name is believed
    for those three formats and nothing else."""
    with path.open("rb") as fh:
        data = fh.read(_OLE_SCAN_BYTES)
    for stream, fmt in _OLE_STREAMS:
        if stream.encode("utf-16-le") in data:
            return fmt
    if "EncryptedPackage".encode("utf-16-le") in data:
        suffix = Path(name).suffix.lower().lstrip(".")
        return suffix if suffix in ("docx", "xlsx", "pptx") else None
    return None


_COMPRESSED = (
    (b"\x1f\x8b", gzip.open, "tar.gz"),
    (b"BZh", bz2.open, "tar.bz2"),
    (b"\xfd7zXZ\x00", lzma.open, "tar.xz"),
)


def _is_compressed_tar(path: Path, opener: object) -> bool:
    try:
        with opener(path, "rb") as fh:  # type: ignore[operator]
            block: bytes = fh.read(512)
    except (OSError, EOFError, lzma.LZMAError, ValueError):
        return False
    return block[257:262] == b"ustar"
