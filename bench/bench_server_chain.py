"""docx → pdf → jpg (×pages) → zip over HTTP: stored results chained by id, vs in-process, vs
downloading and re-uploading between steps.

    python -m bench.bench_server_chain [--rounds 5] [--pages 3]

Goal: chaining stored results over HTTP ≤ 1.15× the same three conversions in-process.
A real ``conversio serve --dev`` runs on 127.0.0.1 (its own worker processes, so each
side has a warm LibreOffice per worker); every round converts a document of its own, so no
result cache helps either side.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

import conversio
from bench.bench_office import docx
from bench.common import median_of, start_server, write_report

DPI = 72


def check_zip(data: bytes, pages: int) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert len(names) == pages, names
        for name in names:
            with Image.open(io.BytesIO(archive.read(name))) as image:
                assert image.format == "JPEG"


class Documents:
    """A new document for every call, so no cache anywhere can answer."""

    def __init__(self, folder: Path, pages: int) -> None:
        self.folder, self.pages, self.count = folder, pages, 0

    def next(self) -> Path:
        self.count += 1
        path = self.folder / f"report-{self.count}.docx"
        path.write_bytes(docx(self.pages, seed=random.randrange(1 << 30)))
        return path


def stored_chain(client: httpx.Client, path: Path, *, upload_first: bool = False) -> bytes:
    """The document sent with the first conversion (as ConvertAPI's chaining example sends it), or
    uploaded first; each step names the stored results of the one before."""
    with path.open("rb") as handle:
        if upload_first:
            sent = client.post("/v1/files", files={"file": (path.name, handle)})
        else:
            form = {"outputFormat": "pdf", "store": "true"}
            sent = client.post("/v1/convert", files={"file": (path.name, handle)}, data=form)
    sent.raise_for_status()
    ids = [f["id"] for f in sent.json()["files"]]
    for target in ("pdf", "jpg") if upload_first else ("jpg",):
        body: dict[str, Any] = {"inputs": [{"fileId": i} for i in ids], "outputFormat": target, "store": True}
        if target == "jpg":
            body["options"] = {"dpi": DPI}
        answer = client.post("/v1/convert", json=body)
        answer.raise_for_status()
        ids = [f["id"] for f in answer.json()["files"]]
    final = client.post("/v1/convert", json={"inputs": [{"fileId": i} for i in ids], "outputFormat": "zip"})
    final.raise_for_status()
    return final.content


def reupload_chain(client: httpx.Client, path: Path) -> bytes:
    """What a client does without stored results: download each result and send it again."""
    pdf = client.post(
        "/v1/convert", files={"file": (path.name, path.read_bytes())}, data={"outputFormat": "pdf"}
    )
    pdf.raise_for_status()
    pages = client.post(
        "/v1/convert",
        files={"file": ("report.pdf", pdf.content)},
        data={"outputFormat": "jpg", "options": json.dumps({"dpi": DPI})},
    )
    pages.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(pages.content)) as bundle:
        images = [("file", (name, bundle.read(name))) for name in bundle.namelist()]
    final = client.post("/v1/convert", files=images, data={"outputFormat": "zip"})
    final.raise_for_status()
    return final.content


def in_process_chain(app: conversio.Conversio, path: Path) -> bytes:
    """The same three conversions, each on the result of the one before."""
    pdf = app.convert(path, to="pdf").run()
    pages = app.convert(pdf, to="jpg", options={"dpi": DPI}).run()
    return app.convert(pages, to="zip").run().read_bytes()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-chain-"))
    documents = Documents(work, args.pages)
    server, base = start_server(work / "server")
    app = conversio.Conversio(store=(work / "store").as_uri(), cache=False)  # durable, as the server's
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            runs = {
                "in-process": lambda: in_process_chain(app, documents.next()),
                "http-stored": lambda: stored_chain(client, documents.next()),
                "http-upload-first": lambda: stored_chain(client, documents.next(), upload_first=True),
                "http-reupload": lambda: reupload_chain(client, documents.next()),
            }
            for run in runs.values():  # warm: LibreOffice in every worker of both sides; results checked
                for _ in range(os.cpu_count() or 1):
                    check_zip(run(), args.pages)
            times = median_of(runs, args.rounds)
    finally:
        app.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)

    base_time = times["in-process"]
    rows = [
        ["in-process: three `conversio.convert` calls", f"{base_time:.3f}", "1.00×", "—"],
        [
            "HTTP, stored results chained by id",
            f"{times['http-stored']:.3f}",
            f"{times['http-stored'] / base_time:.2f}×",
            "≤ 1.15×",
        ],
        [
            "HTTP, the same after uploading the document on its own (POST /v1/files)",
            f"{times['http-upload-first']:.3f}",
            f"{times['http-upload-first'] / base_time:.2f}×",
            "—",
        ],
        [
            "HTTP, each result downloaded and uploaded again",
            f"{times['http-reupload']:.3f}",
            f"{times['http-reupload'] / base_time:.2f}×",
            "—",
        ],
    ]
    write_report(
        "server-chain",
        f"docx → pdf → jpg (×{args.pages} pages) → zip: over HTTP vs in-process",
        ["run", "seconds (median)", "time / in-process", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds; every round converts a new {args.pages}-page"
            f" document (no cache can answer). JPEG at {DPI} dpi.",
            "Server: `conversio serve --dev` on 127.0.0.1, its own worker processes (one per core)"
            " and durable store; in-process: `conversio.Conversio` with its own workers, a durable store"
            " (synced to disk, as the server's), cache off. Both sides warmed first (a LibreOffice in"
            " every worker).",
            "HTTP stored: the document posted to /v1/convert (multipart, to pdf, `store=true`), as"
            " ConvertAPI's chaining example sends its file with the first conversion; then to jpg"
            " (`store: true`) naming the stored PDF's id, then to zip naming the pages' ids (the zip"
            " downloaded). Uploaded on its own first: one more request (POST /v1/files).",
            "HTTP re-upload: the PDF downloaded and posted again, the page images unzipped and posted again.",
        ],
    )


if __name__ == "__main__":
    main()
