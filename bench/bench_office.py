"""DOCX → PDF: conversio's warm LibreOffice pool vs soffice on the command line and a warm unoserver.

    python -m bench.bench_office [--rounds 3] [--latency-runs 10] [--unoserver DIR]

Goals: conversio's throughput on 20 short documents ≥ 5× one ``soffice --convert-to`` per
file, ≥ 2× one ``soffice --convert-to`` call for all of them, ≥ 1.5× a warm unoserver.

unoserver is optional: it needs the ``uno`` module of Debian's ``/usr/bin/python3``, so it
is looked for in ``--unoserver`` (default ``$CONVERSIO_BENCH_UNOSERVER`` or
``/tmp/unoserver-venv/bin``), then on PATH; when it is missing its rows are skipped and
the way to get it is printed.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pikepdf

import conversio
from bench.common import DATA, median_of, timed, write_report
from conversio.stores import Artifact
from conversio.testing.documents import PAGE_BREAK, docx_package

SOFFICE = "soffice"
#: Where ``make bench`` (scripts/bootstrap.sh --bench) installs unoserver.
UNOSERVER_VENV = Path(__file__).resolve().parent.parent / ".venv-unoserver"
UNOSERVER_HINT = "make bench   (or: bash scripts/bootstrap.sh --bench)"
WORDS = (
    "conversion",
    "archive",
    "harbour",
    "quarterly",
    "region",
    "server",
    "pipeline",
    "review",
    "retention",
    "office",
    "report",
    "figures",
    "budget",
    "schedule",
    "migration",
    "storage",
    "document",
    "network",
    "release",
    "planning",
    "customer",
)
_BORDERS = "".join(
    f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="808080"/>'
    for side in ("top", "left", "bottom", "right", "insideH", "insideV")
)


def _run(text: str, size: int = 22, bold: bool = False) -> str:
    props = f'<w:rPr>{"<w:b/>" if bold else ""}<w:sz w:val="{size}"/></w:rPr>'
    return f'<w:r>{props}<w:t xml:space="preserve">{text}</w:t></w:r>'


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def _table(rng: random.Random, rows: int, columns: int) -> str:
    width = 9638 // columns
    grid = "".join(f'<w:gridCol w:w="{width}"/>' for _ in range(columns))
    cells = []
    for row in range(rows):
        tcs = "".join(
            f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr><w:p>'
            + (_run(rng.choice(WORDS).title(), bold=True) if row == 0 else _run(str(rng.randint(1, 9999))))
            + "</w:p></w:tc>"
            for _ in range(columns)
        )
        cells.append(f"<w:tr>{tcs}</w:tr>")
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:tblBorders>{_BORDERS}</w:tblBorders>'
        f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{''.join(cells)}</w:tbl>"
    )


def docx(pages: int, seed: int) -> bytes:
    """A Word document of ``pages`` pages (explicit page breaks): a heading, paragraphs, some tables."""
    rng = random.Random(seed)
    body: list[str] = []
    for page in range(1, pages + 1):
        body.append(f"<w:p>{_run(f'{page}. {rng.choice(WORDS).title()} notes', 36, bold=True)}</w:p>")
        for _ in range(rng.randint(3, 6)):
            body.append(f"<w:p>{_run(' '.join(_sentence(rng) for _ in range(3)))}</w:p>")
        if rng.random() < 0.6:
            body.append(_table(rng, rng.randint(3, 8), rng.randint(3, 5)))
            body.append(f"<w:p>{_run(_sentence(rng))}</w:p>")
        if page < pages:
            body.append(PAGE_BREAK)
    return docx_package(body)


def samples(count: int) -> tuple[list[Path], Path]:
    """``count`` short documents of 1 to 5 pages, and one of 20 pages (cached in bench/.data)."""
    folder = DATA / "docx"
    folder.mkdir(parents=True, exist_ok=True)
    short = [(folder / f"doc-{i:02d}.docx", 1 + i % 5, i) for i in range(count)]
    long = (folder / "long-20pages.docx", 20, 1000)
    for path, pages, seed in [*short, long]:
        if not path.exists():
            path.write_bytes(docx(pages, seed))
    return [path for path, _, _ in short], long[0]


def soffice_convert(files: list[Path], profile: Path, out: Path) -> None:
    """One ``soffice --headless --convert-to pdf`` call for ``files`` (a fresh process each call)."""
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOME": str(profile)},
    )
    missing = [f.name for f in files if not (out / f"{f.stem}.pdf").is_file()]
    if missing:
        raise RuntimeError(f"soffice wrote no PDF for {missing}")


def find_unoserver(folder: str) -> Path | None:
    """The folder holding ``unoserver`` and ``unoconvert``, or None."""
    candidates = [Path(folder)] if folder else []
    found = shutil.which("unoserver")
    if found:
        candidates.append(Path(found).parent)
    for candidate in candidates:
        if (candidate / "unoserver").is_file() and (candidate / "unoconvert").is_file():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Unoserver:
    """A ``unoserver`` on loopback, with its own profile; ``convert`` runs one ``unoconvert``."""

    def __init__(self, folder: Path, work: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        uno_port = _free_port()
        profile = work / "unoserver-profile"
        self.process = subprocess.Popen(
            [
                str(folder / "unoserver"),
                "--interface",
                "127.0.0.1",
                "--uno-interface",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--uno-port",
                str(uno_port),
                "--user-installation",
                str(profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def convert(self, source: Path, target: Path) -> None:
        subprocess.run(
            [
                str(self.folder / "unoconvert"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--convert-to",
                "pdf",
                str(source),
                str(target),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def warm_up(self, source: Path, target: Path, seconds: float = 90) -> None:
        """Convert ``source`` once, retrying until the server answers."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.convert(source, target)
                return
            except subprocess.CalledProcessError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, 9)


def warm_soffices() -> int:
    """How many warm soffice processes conversio's workers hold (their profiles are named so)."""
    count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"soffice.bin") and b"conversio-office-" in b" ".join(cmdline):
            count += 1
    return count


def check_pdf(app: conversio.Conversio, artifact: Artifact, pages: int) -> None:
    """``artifact`` is a PDF of ``pages`` pages."""
    assert artifact.format == "pdf", artifact
    with app.store.open(artifact.id) as stream, pikepdf.open(io.BytesIO(stream.read())) as pdf:
        assert len(pdf.pages) == pages, (artifact.name, len(pdf.pages))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-runs", type=int, default=10)
    parser.add_argument(
        "--unoserver",
        default=os.environ.get("CONVERSIO_BENCH_UNOSERVER", str(UNOSERVER_VENV / "bin")),
        help="folder with unoserver and unoconvert",
    )
    args = parser.parse_args(argv)
    if shutil.which(SOFFICE) is None:
        print("soffice not found: install LibreOffice (apt-get install libreoffice-writer-nogui); skipped")
        return
    paths, long_doc = samples(args.count)
    uno_folder = find_unoserver(args.unoserver)
    if uno_folder is None:
        print(f"unoserver not found; its rows are skipped. To get it:\n    {UNOSERVER_HINT}")
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-office-"))
    app = conversio.Conversio(store=(work / "store").as_uri() + "?durable=0", cache=False)
    profile = work / "soffice-profile"
    server: Unoserver | None = None

    def fresh(name: str) -> Path:
        folder = work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return folder

    try:
        # warm up: both workers started with a soffice each; the CLI profile created once
        # (every CLI call below reuses it, which spares them LibreOffice's first-start work)
        for _ in range(5):
            app.convert(paths[:4], to="pdf").run()
            if warm_soffices() >= 2:
                break
        warm = warm_soffices()
        # the outputs are right: one PDF per document, with the pages written
        check_pdf(app, app.convert(long_doc, to="pdf").run().artifact, 20)
        converted = app.convert(paths, to="pdf").run().artifacts
        assert len(converted) == len(paths)
        for artifact in converted:
            check_pdf(app, artifact, 1 + int(Path(artifact.name).stem.split("-")[1]) % 5)
        soffice_convert(paths[:1], profile, fresh("warmup"))
        if uno_folder is not None:
            server = Unoserver(uno_folder, work)
            server.warm_up(paths[0], work / "warmup" / "uno.pdf")

        def per_file(files: list[Path]) -> Callable[[], None]:
            def run() -> None:
                out = fresh("per-file")
                for path in files:
                    soffice_convert([path], profile, out)

            return run

        def unoserver_loop(files: list[Path]) -> Callable[[], None]:
            def run() -> None:
                assert server is not None
                out = fresh("unoserver")
                for path in files:
                    server.convert(path, out / f"{path.stem}.pdf")

            return run

        bundle: dict[str, Callable[[], object]] = {
            "conversio": lambda: app.convert(paths, to="pdf").run(),
            "per-file": per_file(paths),
            "batch": lambda: soffice_convert(paths, profile, fresh("batch")),
        }
        single: dict[str, Callable[[], object]] = {
            "conversio": lambda: app.convert(long_doc, to="pdf").run(),
            "per-file": per_file([long_doc]),
        }
        if server is not None:
            bundle["unoserver"] = unoserver_loop(paths)
            single["unoserver"] = unoserver_loop([long_doc])
        times = median_of(bundle, args.rounds)
        long_times = median_of(single, args.rounds)
        latencies = [timed(lambda: app.convert(paths[0], to="pdf").run()) for _ in range(args.latency_runs)]
        uno_latencies = (
            [timed(unoserver_loop(paths[:1])) for _ in range(args.latency_runs)] if server is not None else []
        )
    finally:
        app.close()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    count = len(paths)
    rate = count / times["conversio"]
    labels = {
        "conversio": "conversio bundle (warm soffice per worker)",
        "per-file": "`soffice --convert-to pdf`, once per file",
        "batch": f"one `soffice --convert-to pdf` with all {count} files",
        "unoserver": "warm unoserver, `unoconvert` per file",
    }
    goals = {"per-file": "≥ 5×", "batch": "≥ 2×", "unoserver": "≥ 1.5×"}
    rows = []
    for key, label in labels.items():
        if key not in times:
            rows.append([label, "skipped (not installed)", "—", "—", goals.get(key, "—")])
            continue
        seconds = times[key]
        ratio = "1.00×" if key == "conversio" else f"{seconds / times['conversio']:.2f}×"
        rows.append([label, f"{seconds:.3f}", f"{count / seconds:.2f}", ratio, goals.get(key, "—")])
    for key in ("conversio", "per-file", "unoserver"):
        if key not in long_times:
            continue
        seconds = long_times[key]
        label = {"conversio": "conversio, one document", "per-file": "`soffice --convert-to pdf`"}.get(
            key, "warm unoserver"
        )
        ratio = "1.00×" if key == "conversio" else f"{seconds / long_times['conversio']:.2f}×"
        rows.append([f"20-page document: {label}", f"{seconds:.3f}", f"{1 / seconds:.2f}", ratio, "—"])
    p50 = statistics.median(latencies)
    notes = [
        f"Median of {args.rounds} interleaved rounds; {count} generated DOCX of 1–5 pages (paragraphs, some",
        "tables), A4. Ratio = the run's time / conversio's time, i.e. conversio's throughput advantage.",
        f"conversio: {os.cpu_count()} worker processes, a filesystem store not synced to disk, result cache",
        f"off; {warm} warm soffice processes before timing. Each worker's soffice is replaced after",
        f"{os.environ.get('CONVERSIO_OFFICE_MAX_CONVERSIONS', '50')} conversions"
        " (CONVERSIO_OFFICE_MAX_CONVERSIONS), which may fall inside a timed round.",
        "soffice CLI: every call reuses one profile folder (-env:UserInstallation) created during warm-up,",
        "so no call pays LibreOffice's first-start profile creation; calls are sequential.",
        "A single document: one `soffice --convert-to` call is both the per-file and the batch case.",
        "",
        "Warm single-document latency (one 1-page DOCX"
        f" at a time, {args.latency_runs} runs): conversio p50 "
        f"{p50 * 1000:.0f} ms (min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}; a max above"
        " a second is a soffice replacement)"
        + (
            f"; warm unoserver + unoconvert p50 {statistics.median(uno_latencies) * 1000:.0f} ms."
            if uno_latencies
            else "; unoserver skipped."
        ),
        f"conversio throughput: {rate:.2f} documents/s.",
    ]
    if server is None:
        notes.append(f"unoserver rows skipped: not installed. To get it: `{UNOSERVER_HINT}`")
    write_report(
        "office",
        f"DOCX → PDF, {count} short documents and one of 20 pages",
        ["run", "seconds (median)", "documents/s", "time / conversio", "goal"],
        rows,
        notes,
    )


if __name__ == "__main__":
    main()
