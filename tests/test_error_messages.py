"""No error message or detail shows a server path, a store hash or an engine's internals (issue 16).

Many error paths are driven through the three faces (the Python API, the CLI and the HTTP server,
native and ConvertAPI routes, synchronous and as jobs); every string of every error, its details
included, is checked for the absolute paths of the folders involved, hashes, store blob paths,
tracebacks, exception class names and engine words; and a message about a file names that file by
the name the user gave it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import message_samples as samples
import pytest
from click.testing import CliRunner

import conversio
import conversio.cli
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.options import Option, OptionsSchema
from conversio.testing.factory import make_conversio
from conversio.testing.fakes import FakePlugin, spec, write_fake

pytest.importorskip("conversio_server")
for _plugin in ("image", "pdf", "archive", "media", "office"):
    pytest.importorskip(f"conversio_{_plugin}")

from conversio_server.app import create_app  # noqa: E402
from conversio_server.settings import ServerSettings  # noqa: E402

pytestmark = pytest.mark.timeout(120)

#: Engine and library words that are internals to a user (a converter id in the details may name them).
ENGINE_WORDS = re.compile(
    r"pikepdf|qpdf|pdfium|com\.sun\.star|\buno\b|stoc/source|soffice|LibreOffice|\bffmpeg\b|ffprobe"
    r"|Invalid data found when processing|moov atom|\bPIL\b|cannot identify image file|\bErrno\b|py7zr"
    r"|zipfile|BadZip|\bstruct\b",
    re.IGNORECASE,
)
#: A Python exception class name (``KeyError``, ``PdfError``, ``ConnectError``) or a traceback.
PYTHON_WORDS = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z0-9]*(?:Error|Exception)\b|\bline \d+, in\b")
HASH = re.compile(r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40})(?![0-9a-fA-F])")
#: Detail keys whose values are ids of converters or routes (``pdf.pikepdf:pdf->png``): engine
#: names are allowed there, paths and hashes are not.
CONVERTER_KEYS = frozenset({"converter", "route", "converters", "install_hint", "plugin"})
#: Codes whose message must name the user's file.
FILE_CODES = frozenset(
    {
        "CORRUPT_FILE",
        "EMPTY_FILE",
        "FORMAT_MISMATCH",
        "UNSUPPORTED_FORMAT",
        "UNSUPPORTED_ENCRYPTION",
        "INVALID_PASSWORD",
        "NO_TEXT_LAYER",
        "CONVERSION_FAILED",
        "TIMEOUT",
    }
)


@attrs.define
class Sweep:
    """The folders whose paths must never appear, and the problems found so far."""

    roots: set[str] = attrs.field(factory=set)

    def add(self, *paths: str | Path) -> None:
        for path in paths:
            for form in {str(path), os.path.realpath(path)}:
                if len(form) > 1:
                    self.roots.add(form.rstrip("/"))

    def problems(self, error: Mapping[str, Any], *, names: tuple[str, ...] = ()) -> list[str]:
        """What is wrong with an error ``{"code", "message", "details"}``; ``names``: files it must name."""
        found: list[str] = []
        message = str(error.get("message", ""))
        for where, text, is_id in _strings({"message": message, "details": error.get("details") or {}}):
            for root in self.roots:
                if root + "/" in text or text == root or text.endswith(root):
                    found.append(f"{where} shows the path {root}: {text!r}")
            if HASH.search(text):
                found.append(f"{where} shows a hash: {text!r}")
            if "/blobs/" in text:
                found.append(f"{where} shows a store blob path: {text!r}")
            if PYTHON_WORDS.search(text):
                found.append(f"{where} shows Python internals: {text!r}")
            if not is_id and ENGINE_WORDS.search(text):
                found.append(f"{where} shows engine internals: {text!r}")
        if names and error.get("code") in FILE_CODES and not any(n in message for n in names):
            found.append(f"the message does not name {' or '.join(names)}: {message!r}")
        if message.lower().count("limit") > 1:
            found.append(f"the message states more than one limit: {message!r}")
        return found

    def check(self, error: Mapping[str, Any], *, names: tuple[str, ...] = ()) -> None:
        problems = self.problems(error, names=names)
        assert not problems, "\n".join([json.dumps(error, default=str)[:2000], *problems])


def _strings(value: Any, where: str = "", is_id: bool = False) -> Iterator[tuple[str, str, bool]]:
    """Every string in ``value`` (keys too), with where it is and whether it is a converter id."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield f"{where}.{key}", str(key), False
            yield from _strings(item, f"{where}.{key}", is_id or str(key) in CONVERTER_KEYS)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]", is_id)
    elif value is not None:
        yield where.lstrip("."), str(value), is_id


def test_the_sweep_catches_leaks() -> None:
    sweep = Sweep()
    sweep.add("/srv/data")
    bad = {
        "code": "CORRUPT_FILE",
        "message": "/srv/data/server-store/blobs/88/88d7: root of pages tree has no /Kids array",
        "details": {"converter": "pdf.pikepdf:pdf->png", "why": "pikepdf._core.PdfError: x" + "ab" * 32},
    }
    problems = "\n".join(sweep.problems(bad, names=("report.pdf",)))
    for expected in ("path /srv/data", "blob path", "a hash", "Python internals", "engine", "report.pdf"):
        assert expected in problems
    good = {
        "code": "CORRUPT_FILE",
        "message": "report.pdf is damaged: its page list is missing; export it again from its source",
        "details": {"converter": "pdf.pikepdf:pdf->png", "file": "report.pdf"},
    }
    assert sweep.problems(good, names=("report.pdf",)) == []
    assert sweep.problems({"code": "X", "message": "over the limit of 1 MB (a limit of 2 MB)"})


# -- the cases -----------------------------------------------------------------------------------


@attrs.frozen
class Case:
    """A file the user gives, what they ask of it, and whether the message must name the file."""

    id: str
    name: str
    make: Any
    target: str
    options: Mapping[str, str] = attrs.field(factory=dict)
    names_file: bool = True


def _cut_pdf() -> bytes:
    """The head of a PDF: too little to repair (half of one is repaired, with a warning)."""
    return samples.pdf()[:400]


FILE_CASES = [
    Case("empty", "report.pdf", lambda: b"", "png"),
    Case("truncated-pdf", "report.pdf", _cut_pdf, "png"),
    Case("pdf-without-kids", "report.pdf", samples.pdf_without_kids, "png"),
    Case("broken-png", "photo.png", samples.broken_png, "jpg"),
    Case("broken-jpeg", "photo.jpg", samples.broken_jpeg, "png"),
    Case("broken-zip", "bundle.zip", samples.broken_zip, "tar"),
    Case("broken-mp4", "clip.mp4", samples.broken_mp4, "mp3"),
    Case("pdf-no-password", "secret.pdf", lambda: samples.encrypted_pdf("s3cret"), "png"),
    Case(
        "pdf-wrong-password",
        "secret.pdf",
        lambda: samples.encrypted_pdf("s3cret"),
        "png",
        {"password": "wrong"},
    ),
    Case("7z-no-password", "vault.7z", lambda: samples.encrypted_7z("s3cret"), "zip"),
    Case(
        "7z-wrong-password", "vault.7z", lambda: samples.encrypted_7z("s3cret"), "zip", {"password": "nope"}
    ),
    Case("unknown-format", "data.xyz", lambda: bytes(range(256)) * 4, "pdf"),
    Case("name-content-mismatch", "report.pdf", samples.text_named_pdf, "png"),
    Case("no-route", "photo.png", samples.png, "mp3"),
    Case("invalid-option", "photo.png", samples.png, "jpg", {"quality": "500"}, names_file=False),
]
#: LibreOffice starts slowly: the damaged Word document goes through the Python API only.
DOCX_CASE = Case("broken-docx", "letter.docx", samples.broken_docx, "pdf")


def _params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases]


CASES = _params(FILE_CASES)
#: How ConvertAPI spells the options of the cases.
CONVERTAPI_PARAMS = {"password": "Password", "quality": "JpgQuality"}
CONVERTER_NOT_FOUND = 4041


def _names(case: Case) -> tuple[str, ...]:
    return (case.name,) if case.names_file else ()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case's file, under the name the user gave it (each in a folder of its own)."""
    root = tmp_path_factory.mktemp("inputs")
    made = {}
    for case in [*FILE_CASES, DOCX_CASE]:
        folder = root / case.id
        folder.mkdir()
        made[case.id] = folder / case.name
        made[case.id].write_bytes(case.make())
    return made


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    found = Sweep()
    found.add(tmp_path_factory.getbasetemp(), tempfile.gettempdir(), Path.home(), Path.cwd())
    store = os.environ.get("CONVERSIO_STORE", "")
    if store.startswith("file://"):
        found.add(store.removeprefix("file://").split("?", 1)[0])
    return found


# -- the Python API ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, sweep: Sweep) -> Iterator[conversio.Conversio]:
    store = tmp_path_factory.mktemp("api-store")
    sweep.add(store)
    with conversio.Conversio(store=store.as_uri(), workers=2) as instance:
        yield instance


def _api_error(app: conversio.Conversio, path: Path, case: Case) -> dict[str, Any]:
    with pytest.raises(ConversioError) as info:
        app.convert(path, case.target, options=dict(case.options)).run()
    return info.value.to_dict()


@pytest.mark.parametrize("case", _params([*FILE_CASES, DOCX_CASE]))
def test_python_api(app: conversio.Conversio, files: dict[str, Path], sweep: Sweep, case: Case) -> None:
    sweep.check(_api_error(app, files[case.id], case), names=_names(case))


def test_python_api_limits_and_timeout(tmp_path: Path, sweep: Sweep) -> None:
    photo = tmp_path / "holiday photo.png"
    photo.write_bytes(samples.png())
    sweep.add(tmp_path)
    small = Limits(max_pixels=1000, max_pages=1)
    with conversio.Conversio(
        store=(tmp_path / "store").as_uri(), workers=1, limits=small, cache=False
    ) as app:
        too_big = _api_error(app, photo, Case("pixels", photo.name, bytes, "jpg"))
        assert too_big["code"] == "FILE_TOO_LARGE"
        sweep.check(too_big, names=(photo.name,))
        report = tmp_path / "report.pdf"
        report.write_bytes(samples.pdf(2))
        pages = _api_error(app, report, Case("pages", report.name, bytes, "png"))
        assert pages["code"] == "FILE_TOO_LARGE"
        sweep.check(pages, names=(report.name,))
    tiny = Limits(timeout=0.001)
    with conversio.Conversio(store=(tmp_path / "store").as_uri(), workers=1, limits=tiny, cache=False) as app:
        slow = _api_error(app, photo, Case("timeout", photo.name, bytes, "webp"))
        assert slow["code"] in ("TIMEOUT", "CONVERSION_FAILED")
        sweep.check(slow, names=(photo.name,))


def test_python_api_warnings(app: conversio.Conversio, sweep: Sweep, tmp_path: Path) -> None:
    """Half a PDF is repaired with a warning (or refused): either way, the user's words only."""
    half = tmp_path / "report.pdf"
    data = samples.pdf()
    half.write_bytes(data[: len(data) // 2])
    try:
        warnings = app.convert(half, "png").run().warnings
    except ConversioError as exc:
        sweep.check(exc.to_dict(), names=(half.name,))
        return
    assert warnings
    for warning in warnings:
        sweep.check({"code": "", "message": warning})
        assert half.name in warning


@pytest.mark.parametrize(
    ("fn", "code"), [("crash", "CONVERSION_FAILED"), ("explode", "CONVERSION_FAILED"), ("sleep", "TIMEOUT")]
)
def test_python_api_broken_converters(tmp_path: Path, sweep: Sweep, fn: str, code: str) -> None:
    """A worker that dies, a converter's own exception and a step past its time limit."""
    sweep.add(tmp_path)
    plugin = FakePlugin(spec("fa", "fb", fn, options=OptionsSchema.of(Option("seconds", "str", default="0"))))
    source = write_fake(tmp_path / "notes.fa", "fa")
    options = {"seconds": "5"} if fn == "sleep" else {}
    with (
        make_conversio(plugin, executor="process", workers=1, limits=Limits(timeout=0.5), cache=False) as app,
        pytest.raises(ConversioError) as info,
    ):
        app.convert(source, "fb", options=options).run()
    error = info.value.to_dict()
    assert error["code"] == code
    assert "boom" not in error["message"] and "RuntimeError" not in json.dumps(error)
    if fn == "crash":
        assert error["details"]["crashed"] is True and error["details"]["exit_code"] == 3
    sweep.check(error, names=("notes.fa",))


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_runner(app: conversio.Conversio) -> Iterator[CliRunner]:
    """The CLI in this process, on the shared app (as ``conversio convert`` would make its own)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conversio.cli, "_app", lambda: app)
        yield CliRunner()


@pytest.mark.parametrize("case", CASES)
def test_cli(
    cli_runner: CliRunner, files: dict[str, Path], sweep: Sweep, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``conversio convert … --json`` and its plain-text form."""
    monkeypatch.chdir(files[case.id].parent)
    args = ["convert", case.name, "--to", case.target, *[f"-O{k}={v}" for k, v in case.options.items()]]
    out = cli_runner.invoke(conversio.cli.cli, [*args, "--json"])
    assert out.exit_code != 0, out.output
    error = json.loads(out.stdout)["error"]
    sweep.check(error, names=_names(case))
    text = cli_runner.invoke(conversio.cli.cli, args)
    assert text.stderr.startswith("error "), text.stderr
    sweep.check({"code": error["code"], "message": text.stderr}, names=_names(case))


def test_cli_missing_file(
    cli_runner: CliRunner, sweep: Sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = cli_runner.invoke(conversio.cli.cli, ["convert", "nowhere.pdf", "--to", "png", "--json"])
    assert missing.exit_code != 0
    sweep.check(json.loads(missing.stdout)["error"], names=("nowhere.pdf",))


def test_cli_process(files: dict[str, Path], sweep: Sweep, tmp_path: Path) -> None:
    """The installed command as a user runs it, with its own store, a damaged PDF and a tiny timeout."""
    sweep.add(tmp_path)
    folder = files["pdf-without-kids"].parent
    env = {**os.environ, "CONVERSIO_STORE": (tmp_path / "store").as_uri(), "CONVERSIO_TIMEOUT": "0.001"}
    done = subprocess.run(
        [sys.executable, "-m", "conversio", "convert", "report.pdf", "--to", "png"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0 and done.stderr.startswith("error "), done.stderr
    code = done.stderr.split()[1].rstrip(":")
    sweep.check({"code": code, "message": done.stderr + done.stdout}, names=("report.pdf",))


# -- the HTTP server -----------------------------------------------------------------------------


@attrs.define
class Live:
    url: str
    settings: ServerSettings
    uvicorn: Any
    thread: threading.Thread


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sweep: Sweep) -> Iterator[Live]:
    """A real server on 127.0.0.1: a 200 kB upload limit, input URLs may reach 127.0.0.1 only."""
    import uvicorn

    data = tmp_path_factory.mktemp("server-data")
    sweep.add(data)
    settings = ServerSettings.load(
        environ={},
        dev=True,
        data_dir=data,
        workers=2,
        job_workers=1,
        job_poll_interval=0.05,
        webhook_dispatchers=0,
        sweep_interval=3600.0,
        max_upload_bytes=200_000,
        url_allow=("127.0.0.1",),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = attrs.evolve(settings, port=port)
    running = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not running.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield Live(f"http://127.0.0.1:{port}", settings, running, thread)
    running.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def http(server: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def file_host(files: dict[str, Path]) -> Iterator[str]:
    """A plain HTTP server on loopback serving each case's file at ``/<case id>/<name>``."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            case, _, _ = self.path.lstrip("/").partition("/")
            path = files.get(case)
            if path is None:
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="file-host", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _native(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code >= 400, response.text[:500]
    error: dict[str, Any] = response.json()["error"]
    return error


def _convertapi(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code >= 400, response.text[:500]
    body = response.json()
    return {"code": body["Code"], "message": body["Message"], "details": body["InvalidParameters"]}


def _upload(http: httpx.Client, path: Path) -> str:
    reply = http.post("/v1/files", files={"file": (path.name, path.read_bytes())})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["files"][0]["id"])


@pytest.mark.parametrize("case", CASES)
def test_server_upload(http: httpx.Client, files: dict[str, Path], sweep: Sweep, case: Case) -> None:
    """A synchronous conversion of an upload (native), and the same through ConvertAPI."""
    path = files[case.id]
    form = {"outputFormat": case.target, "options": json.dumps(dict(case.options))}
    native = _native(http.post("/v1/convert", files={"file": (case.name, path.read_bytes())}, data=form))
    sweep.check(native, names=_names(case))
    source = case.name.rsplit(".", 1)[-1]
    params = {CONVERTAPI_PARAMS[k]: v for k, v in case.options.items()}
    reply = http.post(
        f"/convert/{source}/to/{case.target}", files={"File": (case.name, path.read_bytes())}, data=params
    )
    convertapi = _convertapi(reply)
    # 4041: no ConvertAPI endpoint for the extension in the URL (the message names that endpoint)
    code = "" if convertapi["code"] == CONVERTER_NOT_FOUND else native["code"]
    sweep.check({**convertapi, "code": code}, names=_names(case))


STORED_CASES = ("pdf-without-kids", "truncated-pdf", "broken-png", "broken-mp4", "pdf-wrong-password")


@pytest.mark.parametrize("case", _params([c for c in FILE_CASES if c.id in STORED_CASES]))
def test_server_stored_file_and_job(
    http: httpx.Client, files: dict[str, Path], sweep: Sweep, case: Case
) -> None:
    """A stored file converted by its id, synchronously and as a durable job: its name, not its blob."""
    file_id = _upload(http, files[case.id])
    body = {"inputs": [{"fileId": file_id}], "outputFormat": case.target, "options": dict(case.options)}
    sweep.check(_native(http.post("/v1/convert", json=body)), names=(case.name,))
    reply = http.post("/v1/jobs", json=body)
    assert reply.status_code == 202, reply.text
    job = _wait_job(http, reply.json()["jobId"])
    assert job["status"] == "failed", job
    sweep.check(job["error"], names=(case.name,))
    for step in job.get("steps") or []:
        sweep.check({"code": "", "message": "", "details": step})


def _wait_job(http: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def test_server_urls(http: httpx.Client, file_host: str, sweep: Sweep) -> None:
    """Refused and unreachable URLs are echoed whole (IPv6 in brackets); a damaged file by URL is named."""
    for url in ("http://[::1]:1/x", "http://10.0.0.1/private.pdf", "http://127.0.0.1:1/gone.pdf"):
        error = _native(http.post("/v1/convert", json={"inputs": [{"url": url}], "outputFormat": "png"}))
        assert url in error["message"], error
        sweep.check(error)
        convertapi = _convertapi(http.post("/convert/pdf/to/png", data={"Url": url}))
        assert url in convertapi["message"], convertapi
        sweep.check(convertapi)
        job = _native(http.post("/v1/jobs", json={"inputs": [{"url": url}], "outputFormat": "png"}))
        assert url in job["message"], job
        sweep.check(job)
    url = f"{file_host}/pdf-without-kids/report.pdf"
    error = _native(http.post("/v1/convert", json={"inputs": [{"url": url}], "outputFormat": "png"}))
    sweep.check(error, names=("report.pdf",))


def test_server_refusals(http: httpx.Client, sweep: Sweep) -> None:
    """Missing ids, an upload over the limit (stated once), unknown formats: clean messages."""
    missing = "A" * 22
    for response in (
        http.get(f"/v1/files/{missing}"),
        http.post("/v1/convert", json={"inputs": [{"fileId": missing}], "outputFormat": "png"}),
        http.get("/v1/jobs/job_nope"),
        http.post("/v1/jobs", json={"inputs": [{"fileId": missing}], "outputFormat": "png"}),
        http.post("/v1/convert", files={"file": ("big.png", b"\0" * 250_000)}, data={"outputFormat": "jpg"}),
        http.post("/v1/convert", files={"file": ("photo.png", samples.png())}, data={"outputFormat": "xyz"}),
    ):
        sweep.check(_native(response))
    big = _convertapi(http.post("/convert/png/to/jpg", files={"File": ("big.png", b"\0" * 250_000)}))
    sweep.check(big)
    sweep.check(_convertapi(http.post("/convert/png/to/jpg", data={"File": missing})))
