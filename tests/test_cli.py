"""The ``conversio`` command as a user runs it: real plugins, a real store, subprocesses."""

from __future__ import annotations

import functools
import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_convert_one_file(run_cli: Cli, photo: Callable[..., Path], tmp_path: Path) -> None:
    photo(tmp_path / "p.png")
    done = run_cli("convert", "p.png", "--to", "jpg", "-O", "quality=70", "-o", "p.jpg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "image.pillow:png->jpg" in done.stdout
    with Image.open(tmp_path / "p.jpg") as img:
        assert img.format == "JPEG" and img.size == (320, 200)


def test_convert_archive_via_format_and_then_operation(
    run_cli: Cli, photo: Callable[..., Path], tmp_path: Path
) -> None:
    with zipfile.ZipFile(tmp_path / "album.zip", "w") as zf:
        for name in ("a.png", "b.png"):
            zf.write(photo(tmp_path / name, size=(400, 300)), name)
    then = ("--then", "resize:width=200", "--then", "zip")
    done = run_cli("convert", "album.zip", "--to", "webp", *then, "-o", "small.zip", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "small.zip") as zf:
        assert zf.namelist() == ["a.webp", "b.webp"]
        with zf.open("a.webp") as member, Image.open(member) as img:
            assert img.size == (200, 150)


def test_bundle_without_output_goes_to_a_new_folder(
    run_cli: Cli, photo: Callable[..., Path], tmp_path: Path
) -> None:
    frames = [
        Image.open(photo(tmp_path / f"f{i}.png", colour=c)) for i, c in enumerate(("red", "blue", "lime"))
    ]
    frames[0].save(tmp_path / "scan.tiff", save_all=True, append_images=frames[1:])
    done = run_cli("convert", "scan.tiff", "--to", "png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    pages = sorted((tmp_path / "scan-png").iterdir())
    assert len(pages) == 3
    with Image.open(pages[1]) as img:
        assert img.getpixel((100, 62))[:3] == (0, 0, 255)


def test_route_explain(run_cli: Cli, tmp_path: Path) -> None:
    done = run_cli("route", "zip", "zip", "--via", "webp", "--explain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "archive" in done.stdout and "webp" in done.stdout and "alternatives" in done.stdout
    as_json = json.loads(run_cli("route", "png", "webp", "--json", cwd=tmp_path).stdout)
    assert as_json["steps"][0]["converter"] == "image.pillow:png->webp"


def test_errors_are_codes_not_tracebacks(run_cli: Cli, photo: Callable[..., Path], tmp_path: Path) -> None:
    photo(tmp_path / "p.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 50)
    cases = [
        (("convert", "p.png", "--to", "mp3"), 3, "NO_ROUTE"),
        (("convert", "p.png", "--to", "nope"), 3, "UNSUPPORTED_FORMAT"),
        (("convert", "p.png", "--to", "jpg", "-O", "quality=high"), 2, "INVALID_OPTION"),
        (("convert", "p.png", "--to", "jpg", "-O", "colour=red"), 2, "INVALID_OPTION"),
        (("convert", "missing.png", "--to", "jpg"), 2, "INVALID_REQUEST"),
        (("convert", "broken.png", "--to", "jpg"), 1, "CORRUPT_FILE"),
        (("convert", "p.png", "--to", "jpg", "--then", "frobnicate"), 2, "INVALID_REQUEST"),
    ]
    for args, code, error in cases:
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == code, (args, done.stderr)
        assert f"error {error}" in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout
        as_json = json.loads(run_cli(*args, "--json", cwd=tmp_path).stdout)
        assert as_json["ok"] is False and as_json["error"]["code"] == error


def test_listings(run_cli: Cli, tmp_path: Path) -> None:
    plugins = {p["name"]: p for p in json.loads(run_cli("plugins", "--json", cwd=tmp_path).stdout)}
    assert plugins["image"]["status"] == "loaded" and plugins["image"]["version"]
    assert plugins["archive"]["status"] == "loaded"
    formats = {f["name"] for f in json.loads(run_cli("formats", "--json", cwd=tmp_path).stdout)}
    assert {"png", "jpg", "zip", "heic"} <= formats
    specs = json.loads(run_cli("converters", "--from", "png", "--to", "webp", "--json", cwd=tmp_path).stdout)
    assert [s["id"] for s in specs] == ["image.pillow:png->webp"]
    assert any(o["name"] == "quality" for o in specs[0]["options"])


def test_without_output_nothing_is_overwritten(
    run_cli: Cli, photo: Callable[..., Path], tmp_path: Path
) -> None:
    original = photo(tmp_path / "p.png", size=(400, 300)).read_bytes()
    done = run_cli("convert", "p.png", "--to", "png", "--then", "resize:width=100", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p.png").read_bytes() == original
    with Image.open(tmp_path / "p (2).png") as img:
        assert img.size == (100, 75)


def test_an_output_ending_in_a_slash_is_always_a_folder(
    run_cli: Cli, photo: Callable[..., Path], tmp_path: Path
) -> None:
    """`-o out/` puts the one result into a folder out/ (made if missing), never a file named out."""
    photo(tmp_path / "p.png")
    for dest in ("new-folder/", "nested/deeper/"):
        done = run_cli("convert", "p.png", "--to", "jpg", "-o", dest, "--json", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        folder = tmp_path / dest.rstrip("/")
        assert folder.is_dir()
        assert [p.name for p in folder.iterdir()] == ["p.jpg"]
        assert json.loads(done.stdout)["saved"] == [str(Path(dest) / "p.jpg")]
        with Image.open(folder / "p.jpg") as img:
            assert img.format == "JPEG"


def test_no_cache_converts_anew_and_remembers_nothing(
    run_cli: Cli, photo: Callable[..., Path], tmp_path: Path
) -> None:
    photo(tmp_path / "p.png")
    cache = tmp_path / ".store" / "cache"
    done = run_cli("convert", "p.png", "--to", "jpg", "--no-cache", "-o", "a.jpg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a.jpg").stat().st_size > 0
    assert not cache.exists() or list(cache.iterdir()) == []
    done = run_cli("convert", "p.png", "--to", "jpg", "-o", "b.jpg", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(list(cache.iterdir())) == 1


def test_help_names_the_environment_and_the_plugin_commands(run_cli: Cli, tmp_path: Path) -> None:
    helped = run_cli("--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for variable in (
        "CONVERSIO_STORE",
        "CONVERSIO_CACHE=0",
        "CONVERSIO_STRICT_PLUGINS",
        "CONVERSIO_TRACE_HOOKS",
    ):
        assert variable in helped.stdout
    assert "plugin " in helped.stdout and "plugins " in helped.stdout
    new = run_cli("plugin", "new", "--help", cwd=tmp_path)
    assert new.returncode == 0, new.stderr
    assert "NAME" in new.stdout and "--dest" in new.stdout
    assert "--no-cache" in run_cli("convert", "--help", cwd=tmp_path).stdout


def test_hook_calls_are_traced_on_request(run_cli: Cli, tmp_path: Path) -> None:
    done = run_cli("route", "png", "jpg", cwd=tmp_path, env={"CONVERSIO_TRACE_HOOKS": "1"})
    assert done.returncode == 0, done.stderr
    assert "register_formats [hook]" in done.stderr and "register_converters [hook]" in done.stderr
    assert "[hook]" not in run_cli("route", "png", "jpg", cwd=tmp_path).stderr


def test_a_web_address_needs_a_plugin_that_loads_web_pages(run_cli: Cli, tmp_path: Path) -> None:
    """Never the address's text printed as a document: without a browser engine it is refused."""
    env = {"CONVERSIO_DISABLE_PLUGINS": "chromium"}
    done = run_cli("convert", "https://example.com/", "--to", "pdf", cwd=tmp_path, env=env)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "MISSING_DEPENDENCY" in done.stderr and "conversio-chromium" in done.stderr
    assert "Traceback" not in done.stderr and not list(tmp_path.glob("*.pdf"))


def test_a_web_address_is_printed_live_within_the_outbound_policy(run_cli: Cli, tmp_path: Path) -> None:
    """The page and its stylesheet come from a server on loopback, reachable only when allowed."""
    import http.server
    import threading

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text(
        '<link rel="stylesheet" href="look.css"><h1>Tide tables</h1>', encoding="utf-8"
    )
    (tmp_path / "site" / "look.css").write_text('h1::after { content: " for Portsmouth"; }', encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        address = f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
        refused = run_cli("convert", address, "--to", "pdf", "-o", "refused.pdf", cwd=tmp_path)
        allowed = run_cli(
            "convert",
            address,
            "--to",
            "pdf",
            "-o",
            "tides.pdf",
            cwd=tmp_path,
            env={"CONVERSIO_URL_ALLOW": "127.0.0.1"},
        )
        httpd.shutdown()
    assert refused.returncode != 0 and "loopback" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "refused.pdf").exists()
    assert allowed.returncode == 0, allowed.stderr
    with pdfium.PdfDocument(tmp_path / "tides.pdf") as pdf:
        assert "Tide tables for Portsmouth" in pdf[0].get_textpage().get_text_range()
