"""OCRmyPDF's processes (its own, Tesseract's) all die with the process that started them."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ocr_samples import ENGLISH, image_pdf, render

from conversio.testing.processes import gather, left_after

pytestmark = pytest.mark.timeout(60)

#: A worker of its own: OCRs the scan given as its argument (forced, so every page is read).
WORKER = """
import sys
from pathlib import Path
from ocr_helpers import OCR, run_converter
run_converter(OCR, Path(sys.argv[1]), Path(sys.argv[2]), mode="force")
"""


def reading(found: dict[int, str]) -> bool:
    """Whether Tesseract is among ``found`` reading a page in some language (not telling its
    version or listing its languages)."""
    for pid, name in found.items():
        try:
            arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if name == "tesseract" and b"-l" in arguments:
            return True
    return False


def test_a_worker_killed_while_tesseract_runs_leaves_no_process(tmp_path: Path) -> None:
    scan = image_pdf(tmp_path / "pages.pdf", [render(ENGLISH * 12, "DejaVu Sans", 10, 600, (8.5, 11))] * 2)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(scan), str(tmp_path / "out")],
        cwd=Path(__file__).parent,
        stdin=subprocess.DEVNULL,
    )
    try:
        seen = gather(worker.pid, reading, seconds=40)
        assert reading(seen), seen
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert left_after(seen, seconds=1) == set()  # Tesseract needs far longer for one of these pages
