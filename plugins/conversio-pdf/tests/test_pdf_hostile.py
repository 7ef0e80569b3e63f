"""Hostile PDFs end with a clear code, quickly, in a real worker process with a timeout.

Each is run through the engine with the process executor (as a server runs
conversions), so a crash or hang of an engine would show as CONVERSION_FAILED
or TIMEOUT instead of the expected code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pdf_samples import deep_nesting, huge_mediabox, make_pdf, page_bomb, reference_loop, wide_page_bomb

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

BOUND = 30.0  # seconds a hostile file may take, worker start included


@pytest.fixture(scope="module")
def worker_app() -> Iterator[conversio.Conversio]:
    app = make_conversio(
        "conversio_pdf.plugin",
        executor="process",
        workers=1,
        limits=Limits(timeout=20, max_memory=1024 * 1024 * 1024, max_pages=2000),
    )
    yield app
    app.close()


HOSTILE: dict[str, tuple[Callable[[Path], Path], dict[str, str]]] = {
    # a page tree whose /Kids hold itself, and a page that is its own /Parent
    "reference-loop": (
        reference_loop,
        {"png": "CORRUPT_FILE", "txt": "CORRUPT_FILE", "merge": "CORRUPT_FILE"},
    ),
    # arrays nested 100 000 deep inside a page: the page cannot be read
    "deep-nesting": (deep_nesting, {"png": "CORRUPT_FILE", "txt": "CORRUPT_FILE", "merge": "CORRUPT_FILE"}),
    # a 1 KB file whose page tree claims 10 million pages
    "page-bomb": (page_bomb, {"png": "FILE_TOO_LARGE", "txt": "FILE_TOO_LARGE", "merge": "FILE_TOO_LARGE"}),
    # a few hundred KB really holding 200 000 page references
    "wide-page-bomb": (
        wide_page_bomb,
        {"png": "FILE_TOO_LARGE", "txt": "FILE_TOO_LARGE", "merge": "FILE_TOO_LARGE"},
    ),
    # a 100 000 x 100 000 pt page: 43 billion pixels at 150 dpi (merging it is harmless)
    "huge-mediabox": (huge_mediabox, {"png": "FILE_TOO_LARGE"}),
}
CASES = [(name, step) for name, (_, codes) in HOSTILE.items() for step in codes]


@pytest.mark.parametrize(("name", "step"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_hostile_pdf_fails_cleanly_and_quickly(
    worker_app: conversio.Conversio, tmp_path: Path, name: str, step: str
) -> None:
    make, codes = HOSTILE[name]
    hostile = make(tmp_path / f"{name}.pdf")
    started = time.monotonic()
    with pytest.raises(ConversioError) as info:
        if step == "merge":
            worker_app.convert([hostile, make_pdf(tmp_path / "other.pdf", pages=1)]).then("merge").run()
        else:
            worker_app.convert(hostile, to=step).run()
    elapsed = time.monotonic() - started
    assert info.value.code == codes[step], info.value.to_dict()
    assert elapsed < BOUND


def test_huge_mediabox_merges_and_a_normal_pdf_renders_in_the_worker(
    worker_app: conversio.Conversio, tmp_path: Path
) -> None:
    hostile = huge_mediabox(tmp_path / "huge.pdf")
    merged = worker_app.convert([hostile, make_pdf(tmp_path / "b.pdf", pages=2)]).then("merge").run()
    assert len(merged.artifacts) == 1 and merged.artifacts[0].format == "pdf"
    pages = worker_app.convert(make_pdf(tmp_path / "c.pdf", pages=2), to="png", options={"dpi": 30}).run()
    assert [a.name for a in pages.artifacts] == ["c-page001.png", "c-page002.png"]
