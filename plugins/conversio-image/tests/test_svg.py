"""SVG rendering: sizes, and no access to local files or the network whatever the document says."""

from __future__ import annotations

import base64
import http.server
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conversio_image import svg
from image_helpers import close, decode, png_bytes, png_header_only
from PIL import Image

from conversio.errors import CorruptFile, FileTooLarge
from conversio.limits import Limits

NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def _svg(tmp_path: Path, body: str, attrs: str = 'width="40" height="20"', name: str = "doc.svg") -> Path:
    path = tmp_path / name
    path.write_text(f'<?xml version="1.0"?>\n<svg {NS} {attrs}>{body}</svg>', encoding="utf-8")
    return path


RED_RECT = '<rect x="0" y="0" width="20" height="20" fill="#ff0000"/>'


@pytest.mark.parametrize("target", ["png", "jpg", "webp"])
def test_renders_at_its_own_size(target: str, tmp_path: Path, convert) -> None:
    im = decode(convert(_svg(tmp_path, RED_RECT), "svg", target)[0].path).convert("RGBA")
    assert im.size == (40, 20)
    assert close(im.getpixel((5, 10)), (255, 0, 0, 255))  # type: ignore[arg-type]
    right = im.getpixel((30, 10))
    assert right[3] == 0 if target != "jpg" else close(right, (255, 255, 255, 255))  # type: ignore[index, arg-type]


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ({"dpi": 192}, (80, 40)),
        ({"width": 400}, (400, 200)),
        ({"height": 10}, (20, 10)),
        ({"width": 100, "height": 100}, (100, 50)),
        ({"width": 100, "height": 100, "fit": "contain"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "cover"}, (100, 100)),
        ({"width": 100, "height": 100, "fit": "fill"}, (100, 100)),
    ],
)
def test_size_options(options: dict[str, object], size: tuple[int, int], tmp_path: Path, convert) -> None:
    assert decode(convert(_svg(tmp_path, RED_RECT), "svg", "png", **options)[0].path).size == size


def test_vector_is_rendered_crisp_at_a_larger_size(tmp_path: Path, convert) -> None:
    im = decode(convert(_svg(tmp_path, RED_RECT), "svg", "png", width=400)[0].path).convert("RGBA")
    # The rectangle's edge falls exactly between two pixels: no blurred upscaled raster.
    assert im.getpixel((199, 100)) == (255, 0, 0, 255) and im.getpixel((200, 100))[3] == 0  # type: ignore[index]


@pytest.mark.parametrize(
    ("attrs", "size"),
    [
        ('viewBox="0 0 30 15"', (30, 15)),
        ('width="60" viewBox="0 0 30 15"', (60, 30)),
        ('width="1in" height="0.5in"', (96, 48)),
        ("", (100, 100)),
    ],
)
def test_intrinsic_size_matches_resvg(attrs: str, size: tuple[int, int], tmp_path: Path, convert) -> None:
    assert decode(convert(_svg(tmp_path, "", attrs), "svg", "png")[0].path).size == size


def _red_png(tmp_path: Path) -> Path:
    path = tmp_path / "secret-red.png"
    Image.new("RGB", (10, 10), (255, 0, 0)).save(path)
    return path


def test_local_files_are_never_read(tmp_path: Path, convert) -> None:
    red = _red_png(tmp_path)
    refs = [str(red), red.as_uri(), red.name, "file:///etc/passwd", "/etc/passwd"]
    body = "".join(f'<image x="0" y="0" width="40" height="20" href="{r}"/>' for r in refs)
    body += f'<image x="0" y="0" width="40" height="20" xlink:href="{red}"/>'
    body += (
        '<filter id="f" x="0" y="0" width="1" height="1">'
        f'<feImage href="{red}" width="40" height="20"/></filter>'
        '<rect width="40" height="20" fill="none" filter="url(#f)"/>'
    )
    src = _svg(tmp_path, body)
    im = decode(convert(src, "svg", "png")[0].path).convert("RGBA")
    assert im.getextrema()[3] == (0, 0), "an external file was drawn"
    cleaned = svg.clean(src.read_bytes(), Limits(), src.name)
    assert str(red) not in cleaned.text and "passwd" not in cleaned.text
    assert len(cleaned.removed) == len(refs) + 2


def test_a_local_file_is_read_by_resvg_itself(tmp_path: Path) -> None:
    """The reason for cleaning: resvg on its own does read local files named by href."""
    import resvg_py

    red = _red_png(tmp_path)
    text = f'<svg {NS} width="10" height="10"><image width="10" height="10" href="{red}"/></svg>'
    im = Image.open(io.BytesIO(bytes(resvg_py.svg_to_bytes(svg_string=text, dpi=96.0))))
    assert im.convert("RGBA").getpixel((5, 5)) == (255, 0, 0, 255)


@pytest.fixture
def web_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(png_bytes(Image.new("RGB", (4, 4), "red")))

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_urls_are_never_fetched(tmp_path: Path, convert, web_server: tuple[str, list[str]]) -> None:
    base, hits = web_server
    body = (
        f"<style>@import url({base}/style.css);</style>"
        f'<image width="40" height="20" href="{base}/image.png"/>'
        f'<image width="40" height="20" xlink:href="{base}/image2.png"/>'
        f'<use href="{base}/other.svg#a"/>'
    )
    im = decode(convert(_svg(tmp_path, body), "svg", "png")[0].path).convert("RGBA")
    time.sleep(0.2)
    assert hits == []
    assert im.getextrema()[3] == (0, 0)


def test_embedded_data_images_are_kept_and_checked(tmp_path: Path, convert) -> None:
    payload = base64.b64encode(png_bytes(Image.new("RGB", (4, 4), (0, 0, 255)))).decode()
    ok = _svg(
        tmp_path,
        f'<image width="40" height="20" preserveAspectRatio="none" href="data:image/png;base64,{payload}"/>',
    )
    im = decode(convert(ok, "svg", "png")[0].path).convert("RGB")
    assert close(im.getpixel((20, 10)), (0, 0, 255))  # type: ignore[arg-type]
    bomb = base64.b64encode(png_header_only(100_000, 100_000)).decode()
    bad = _svg(
        tmp_path, f'<image width="40" height="20" href="data:image/png;base64,{bomb}"/>', name="bomb.svg"
    )
    with pytest.raises(FileTooLarge):
        convert(bad, "svg", "png")


def test_embedded_svg_is_cleaned_too(tmp_path: Path) -> None:
    red = _red_png(tmp_path)
    inner = f'<svg {NS} width="10" height="10"><image width="10" height="10" href="{red}"/></svg>'
    payload = base64.b64encode(inner.encode()).decode()
    src = _svg(tmp_path, f'<image width="40" height="20" href="data:image/svg+xml;base64,{payload}"/>')
    cleaned = svg.clean(src.read_bytes(), Limits(), src.name)
    nested = cleaned.text.split("base64,", 1)[1].split('"', 1)[0]
    assert str(red) not in base64.b64decode(nested).decode()


def test_huge_canvas_is_refused_before_rendering(tmp_path: Path, convert) -> None:
    src = _svg(tmp_path, RED_RECT, 'width="200000" height="200000"')
    started = time.monotonic()
    with pytest.raises(FileTooLarge):
        convert(src, "svg", "png")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "text",
    [
        "",
        "<svg",
        "hello, world",
        '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>',
        f'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg {NS} width="9" height="9">&x;</svg>',
        f'<svg {NS} width="-5" height="10"/>',
    ],
)
def test_broken_or_hostile_documents_are_corrupt(text: str, tmp_path: Path, convert) -> None:
    src = tmp_path / "bad.svg"
    src.write_text(text, encoding="utf-8")
    with pytest.raises(CorruptFile):
        convert(src, "svg", "png")


def test_entity_expansion_bomb_is_refused(tmp_path: Path, convert) -> None:
    entities = '<!ENTITY a0 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    src = tmp_path / "laughs.svg"
    src.write_text(f'<!DOCTYPE svg [{entities}]><svg {NS} width="9" height="9"><text>&a9;</text></svg>')
    started = time.monotonic()
    with pytest.raises(CorruptFile):
        convert(src, "svg", "png")
    assert time.monotonic() - started < 5
