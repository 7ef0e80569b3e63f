"""pdf → docx and xlsx: the worker's side. pdf2docx runs in a child process (:mod:`conversio_pdf2docx.engine`)
under the engine's address-space cap, in a private temporary folder, killed at the step's
timeout and with its parent; the worker never loads PyMuPDF, so a hostile PDF can cost it
nothing but the child.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath

from conversio.converters import ConversionRequest, Output
from conversio.errors import ConversioError, ConversionFailed, MissingDependency, Timeout
from conversio.limits import ENGINE_ENV, engine_preexec
from conversio_pdf2docx.specs import ENGINE, INSTALL_HINT

#: One thread for numpy's and OpenCV's pools: the worker pool already uses the cores.
_THREADS = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
logger = logging.getLogger(__name__)


def pdf_to_office(request: ConversionRequest) -> list[Output]:
    """The input PDF as an editable Word document, or its tables as a workbook (see
    :func:`conversio_pdf2docx.engine.convert`)."""
    source, options = request.input, request.options
    for module in ("pdf2docx", "pymupdf"):  # the engine process imports them: say so before it starts
        if importlib.util.find_spec(module) is None:
            raise MissingDependency(
                f"{module} is not installed; {INSTALL_HINT}", module=module, install_hint=INSTALL_HINT
            )
    with tempfile.TemporaryDirectory(prefix="conversio-pdf2docx-") as folder:
        result, outcome = Path(folder) / f"output.{request.target}", Path(folder) / "outcome.json"
        job = {
            "source": str(source.path),
            "target": str(result),
            "format": request.target,
            "name": source.name,
            "max_pages": request.limits.max_pages,
            "max_pixels": request.limits.max_pixels,
            "password": options.get("password"),
            "pages": options.get("pages"),
            "borderless_tables": bool(options.get("borderless_tables")),
        }
        run(json.dumps(job), outcome, request, Path(folder))
        for warning in read_outcome(outcome):
            request.warn(warning)
        out = request.output(f"{PurePosixPath(source.name).stem or 'document'}.{request.target}")
        shutil.move(result, out.path)
    return [out]


def run(job: str, outcome: Path, request: ConversionRequest, folder: Path) -> None:
    """The engine process on ``job``, under the memory cap and the family's timeout."""
    name, limits = request.input.name, request.limits
    timeout = limits.step_timeout(ENGINE.split(".", 1)[0])
    log = folder / "engine.log"
    with log.open("wb") as errors:
        try:
            process = subprocess.run(
                [sys.executable, "-m", "conversio_pdf2docx.engine", str(outcome)],
                input=job.encode("utf-8"),
                stdout=errors,
                stderr=subprocess.STDOUT,
                cwd=folder,
                timeout=timeout,
                preexec_fn=engine_preexec(limits.max_engine_memory),
                env={**os.environ, **ENGINE_ENV, **_THREADS},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Timeout(
                f"converting {name} took longer than {timeout:g} s and was stopped",
                timeout=timeout,
            ) from None
    if process.returncode != 0 or not outcome.is_file():
        raise crashed(name, process.returncode, log.read_bytes()[-4096:].decode("utf-8", "replace"))


def crashed(name: str, returncode: int, output: str) -> ConversioError:
    """The error for an engine process that ended without an outcome (its words go to the log only)."""
    logger.info("pdf2docx ended on %s with exit code %d: %s", name, returncode, output.strip()[-500:])
    signal = -returncode if returncode < 0 else None
    return ConversionFailed(
        f"converting {name}: the engine stopped unexpectedly" + (f" (signal {signal})" if signal else ""),
        crashed=True,
        signal=signal,
        file=name,
    )


def read_outcome(outcome: Path) -> list[str]:
    """The engine's warnings; the error it reported, raised."""
    answer = json.loads(outcome.read_text(encoding="utf-8"))
    if "error" in answer:
        raise ConversioError.from_dict(answer["error"])
    return [str(warning) for warning in answer.get("warnings", [])]
