"""pdf2docx runs in a child process under the engine's memory cap and the step's timeout: a PDF
that is too slow, too big or too long is refused, no child is left behind and the caller goes on."""

from __future__ import annotations

import os
from pathlib import Path

import pymupdf  # type: ignore[import-untyped]
import pytest
from conftest import Run
from pdf2docx_samples import body_words, pages

from conversio.errors import ConversioError
from conversio.limits import Limits

_MIB = 1024 * 1024


def _children() -> list[int]:
    """The processes this test process started and that still run."""
    tasks = Path(f"/proc/{os.getpid()}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def _refused(run: Run, path: Path, limits: Limits) -> ConversioError:
    with pytest.raises(ConversioError) as refused:
        run(path, limits=limits)
    return refused.value


def test_a_step_over_its_timeout_is_stopped_and_the_next_one_runs(run: Run, tmp_path: Path) -> None:
    source = pages(tmp_path / "three.pdf")
    error = _refused(run, source, Limits(timeout=0.2))
    assert (error.code, error.details["timeout"]) == ("TIMEOUT", 0.2)
    assert "three.pdf" in error.message
    assert _children() == []
    [out] = run(source)
    assert body_words(out.path)[:2] == ["Page", "1"]


def test_an_engine_over_its_memory_cap_is_file_too_large(run: Run, tmp_path: Path) -> None:
    error = _refused(run, pages(tmp_path / "three.pdf"), Limits(max_engine_memory=200 * _MIB))
    assert (error.code, error.details["limit"]) == ("FILE_TOO_LARGE", "memory")
    assert error.message == "three.pdf: converting it needs more memory than the limit allows"


def test_more_pages_than_the_limit_are_refused(run: Run, tmp_path: Path) -> None:
    error = _refused(run, pages(tmp_path / "three.pdf"), Limits(max_pages=2))
    assert (error.code, error.details["pages"], error.details["limit"]) == ("FILE_TOO_LARGE", 3, 2)


def test_a_page_too_large_to_draw_is_refused(run: Run, tmp_path: Path) -> None:
    document = pymupdf.open()
    page = document.new_page(width=14400, height=14400)  # the largest page a PDF may have
    page.insert_text((72, 72), "a poster", fontsize=11)
    page.draw_circle((7200, 7200), 5000, color=(0, 0, 1), fill=(0, 1, 0))
    document.save(tmp_path / "poster.pdf")
    error = _refused(run, tmp_path / "poster.pdf", Limits())
    assert (error.code, error.details["page"]) == ("FILE_TOO_LARGE", 1)
    assert error.message.startswith("poster.pdf: page 1 is 508 x 508 cm, larger than the limit")
