"""``python -m conversio_ocr.launch <OCRmyPDF's arguments>``: OCRmyPDF, dying whole with its parent.

OCRmyPDF leads a process group of its own (the engine starts it in a new session): its
forkserver, its workers, Tesseract and unpaper. ``PR_SET_PDEATHSIG`` reaches only the process
that set it, so this one asks for SIGTERM when its parent dies and answers it by killing its
whole group; OCRmyPDF then runs in this same process.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
from types import FrameType

#: The engine sets this to its own process id; a different parent means it has already died.
PARENT_VARIABLE = "CONVERSIO_OCR_PARENT"
_PR_SET_PDEATHSIG = 1


def _kill_group(_signum: int = 0, _frame: FrameType | None = None) -> None:
    os.killpg(0, signal.SIGKILL)


def main() -> int:
    signal.signal(signal.SIGTERM, _kill_group)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if str(os.getppid()) != os.environ.get(PARENT_VARIABLE, str(os.getppid())):
        _kill_group()
    from ocrmypdf.__main__ import run

    multiprocessing.set_start_method("forkserver")
    return int(run())  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    sys.exit(main())
