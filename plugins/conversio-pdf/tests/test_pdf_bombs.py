"""A PDF holding a stream that inflates to 1 GiB costs a bounded amount of memory, through the CLI.

Measured without the checks: 2.1 GB of resident memory for pdf -> png, 2.0 GB for pdf -> txt
and 2.1 GB for compress with images; 2.1 GB for an LZW content stream (790 KB) unpacking to
1 GiB. Now the page is refused (FILE_TOO_LARGE) before PDFium decodes it, and compress leaves
the image as it is."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from conversio_pdf.inflation import check_inflation, inflated_size
from PIL import Image

from conversio.errors import FileTooLarge

GIB = 1 << 30
MIB = 1 << 20
#: The most memory the CLI and its worker may hold together while converting a bomb.
BOUND = 500 * MIB
_PAGE = os.sysconf("SC_PAGE_SIZE")


def deflated(size: int, fill: bytes) -> bytes:
    """``size`` bytes of ``fill`` compressed with zlib (1 GiB makes about 1 MB)."""
    encoder = zlib.compressobj(9)
    block = fill * (16 * MIB)
    return b"".join([*(encoder.compress(block) for _ in range(size // len(block))), encoder.flush()])


def bomb(path: Path, *, image: bool) -> Path:
    """A one-page PDF whose content stream, or a 100x100 image's data, inflates to 1 GiB."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0].obj
    stream = pdf.make_stream(b"")
    if image:
        stream.write(deflated(GIB, b"\0"), filter=pikepdf.Name.FlateDecode)
        stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        stream.Width = stream.Height = 100
        stream.ColorSpace, stream.BitsPerComponent = pikepdf.Name.DeviceGray, 8
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
        page.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    else:
        stream.write(deflated(GIB, b" "), filter=pikepdf.Name.FlateDecode)
        page.Contents = stream
    pdf.save(path)
    return path


def lzw_run(size: int, fill: int = 0x20, early: int = 1) -> bytes:
    """LZW codes (PDF's flavour) for ``size`` bytes of ``fill``: each code stands for one byte more
    than the one before, the table cleared before it overflows; about 790 KB for 1 GiB."""
    codes: list[tuple[int, int]] = []  # (code, width)
    left = size
    while left > 0:
        codes.append((fill, 9))  # the first code after a clear stands for one byte
        left, entry, length = left - 1, 258, 2
        while left >= length and entry + early < 4096:
            codes.append((entry, min(12, (entry + early).bit_length())))
            left, entry, length = left - length, entry + 1, length + 1
        codes.append((256, min(12, (entry + early).bit_length())))
    codes[-1] = (257, codes[-1][1])
    bits = "".join(format(code, f"0{width}b") for code, width in codes)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def encoded_page(path: Path, data: bytes, filters: list[str]) -> Path:
    """A one-page PDF whose content stream is ``data``, already encoded by ``filters``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    stream = pdf.make_stream(b"")
    stream.write(data, filter=pikepdf.Array([pikepdf.Name(f) for f in filters]))
    pdf.pages[0].obj.Contents = stream
    pdf.save(path)
    return path


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "content": bomb(folder / "content.pdf", image=False),
        "image": bomb(folder / "image.pdf", image=True),
        "lzw": encoded_page(folder / "lzw.pdf", lzw_run(GIB), ["/LZWDecode"]),
    }


def tree_rss(root: int) -> int:
    """The resident memory of ``root`` and all its descendants, in bytes."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry)], rss[int(entry)] = int(fields[1]), int(fields[21]) * _PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def convert(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``conversio convert ARGS``; its answer and the peak resident memory of its processes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "conversio", "convert", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONVERSIO_STORE": "memory://"},
        cwd=tmp_path,
    )
    peak, deadline = 0, time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        peak = max(peak, tree_rss(process.pid))
        time.sleep(0.05)
    process.kill()
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), peak


@pytest.mark.parametrize("kind", ["content", "lzw"])
@pytest.mark.parametrize("target", ["png", "txt"])
def test_a_page_that_inflates_to_a_gib_is_refused(
    tmp_path: Path, bombs: dict[str, Path], kind: str, target: str
) -> None:
    done, peak = convert(tmp_path, str(bombs[kind]), "--to", target, "-o", str(tmp_path / "out"))
    assert done.returncode == 5, done.stderr
    assert "FILE_TOO_LARGE" in done.stderr and "page 1" in done.stderr and "Traceback" not in done.stderr
    assert peak < BOUND, f"{peak / MIB:.0f} MiB"


@pytest.mark.parametrize("kind", ["content", "image"])
@pytest.mark.parametrize("operation", ["merge", "compress:images=true"])
def test_structure_operations_stay_bounded(
    tmp_path: Path, bombs: dict[str, Path], kind: str, operation: str
) -> None:
    inputs = [str(bombs[kind])] * (2 if operation == "merge" else 1)
    out = tmp_path / "out.pdf"
    done, peak = convert(tmp_path, *inputs, "--to", "pdf", "--then", operation, "-o", str(out))
    assert done.returncode == 0, done.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == (2 if operation == "merge" else 1)
    assert peak < BOUND, f"{peak / MIB:.0f} MiB"


def test_a_huge_image_is_drawn_within_bounds(tmp_path: Path) -> None:
    """PDFium scales a 32768x32768 image (1 GiB of pixels) down as it decodes it: drawn, bounded."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    image = pdf.make_stream(b"")
    image.write(deflated(GIB, b"\0"), filter=pikepdf.Name.FlateDecode)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width = image.Height = 32768
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    page = pdf.pages[0].obj
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    pdf.save(tmp_path / "huge.pdf")
    done, peak = convert(tmp_path, str(tmp_path / "huge.pdf"), "--to", "png", "-o", str(tmp_path / "out.png"))
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "out.png") as drawn:
        assert drawn.convert("L").getextrema() == (0, 0)  # the image is black all over the page
    assert peak < BOUND, f"{peak / MIB:.0f} MiB"


@pytest.mark.parametrize(
    ("filters", "encode"),
    [
        (["/LZWDecode"], lzw_run),
        (["/ASCII85Decode", "/LZWDecode"], lambda size: base64.a85encode(lzw_run(size)) + b"~>"),
        (["/ASCIIHexDecode", "/LZWDecode"], lambda size: lzw_run(size).hex().encode() + b">"),
        (["/RunLengthDecode"], lambda size: (b"\x81 " * (size // 128)) + b"\x80"),
    ],
)
def test_lzw_and_run_length_streams_are_measured_as_qpdf_decodes_them(
    tmp_path: Path, filters: list[str], encode: Callable[[int], bytes]
) -> None:
    """The count matches qpdf's decoding byte for byte below the limit, and stops at it above."""
    size = 3 * MIB
    with pikepdf.open(encoded_page(tmp_path / "page.pdf", encode(size), filters)) as pdf:
        stream = pdf.pages[0].obj.Contents
        assert len(stream.read_bytes(pikepdf.StreamDecodeLevel.specialized)) == size
        assert inflated_size(stream, limit=1024) == 1024  # past the bound a qpdf decode would keep
        assert inflated_size(stream, limit=4 * MIB) == size
        with pytest.raises(FileTooLarge, match="page 1"):
            check_inflation(pdf, "page.pdf", limit=MIB)
        check_inflation(pdf, "page.pdf", limit=4 * MIB)
