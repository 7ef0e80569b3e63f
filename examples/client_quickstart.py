"""The Python client's main flows on the bundled samples, against a running conversio server.

    conversio serve --dev --port 8000 &
    python examples/client_quickstart.py http://127.0.0.1:8000 out/

Converts report.docx to PDF, renders it to stored JPEG pages and zips them by id (no download in
between), runs a job with live events, and a batch. Needs ``pip install "conversio[client]"`` and a
server with the office, pdf, image and archive plugins.
"""

from __future__ import annotations

import sys
from pathlib import Path

from conversio.client import Client, JobSpec

HERE = Path(__file__).resolve().parent


def main(server: str, out: Path, api_key: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with Client(server, api_key) as client:
        # 1. a synchronous conversion: the file comes back
        pdf = client.convert(HERE / "report.docx", "pdf")
        print("converted:", pdf.save(out))

        # 2. stored results, chained by id: docx -> pdf -> jpg (one a page) -> zip
        pages = client.convert(HERE / "report.docx", "jpg", via=["pdf"], store=True)
        print("stored pages:", [p.name for p in pages])
        archive = client.convert(pages, "zip")
        print("zipped:", archive.save(out / "pages.zip"))

        # 3. a job, followed live, then its outputs downloaded
        job = client.create_job(HERE / "sunset.jpg", "webp", options={"quality": 80}, tag="quickstart")
        for event, state in client.events(job):
            print("job", job.id, event, f"{state.progress:.0f} %")
        for output in client.wait(job, timeout=120).outputs:
            print("job output:", client.download(output, out).name)

        # 4. a batch of three jobs, waited for together
        batch = client.batch(
            [JobSpec([HERE / name], "png") for name in ("sunset.jpg", "harbour.jpg", "scan.tiff")]
        )
        for finished in batch.wait_all(timeout=300):
            print("batch job", finished.id, finished.status, [o.name for o in finished.outputs])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(f"usage: {sys.argv[0]} SERVER_URL OUTPUT_FOLDER [API_KEY]")
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
