"""Chains of PDF operations through the engine: consecutive operations run as one step
(one open, one save) and give what the same operations give one at a time."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from pdf_samples import make_pdf
from test_pdf_operations import page_texts

from conversio import Conversio, Result
from conversio.errors import ConversioError
from conversio.events import Event, EventKind
from conversio.testing import make_conversio

Chain = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def app() -> Iterator[Conversio]:
    conversio = make_conversio("conversio_pdf.plugin")
    yield conversio
    conversio.close()


def fused(app: Conversio, inputs: list[Path], chain: Chain, events: list[Event] | None = None) -> Result:
    conversion = app.convert(inputs)
    for name, options in chain:
        conversion = conversion.then(name, **options)
    return conversion.run(on_event=events.append if events is not None else None)


def one_at_a_time(app: Conversio, inputs: list[Path], chain: Chain) -> Result:
    """Each operation a conversion of its own, on the stored result of the one before."""
    result: Any = inputs
    for name, options in chain:
        result = app.convert(result).then(name, **options).run()
    assert isinstance(result, Result)
    return result


def opened(result: Result, password: str = "") -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(result.read_bytes()), password=password)


def saved(result: Result, tmp_path: Path, name: str) -> Path:
    (path,) = result.save(tmp_path / name)
    return path


def test_merge_then_encrypt_is_one_step(app: Conversio, tmp_path: Path) -> None:
    inputs = [make_pdf(tmp_path / f"part{n}.pdf", pages=n) for n in (1, 2, 3)]
    events: list[Event] = []
    result = fused(app, inputs, [("merge", {}), ("encrypt", {"user_password": "pw"})], events)
    started = [e.converter for e in events if e.kind is EventKind.STEP_STARTED]
    assert started == ["pdf.pikepdf:merge(pdf)+pdf.pikepdf:encrypt(pdf)"]
    with pytest.raises(pikepdf.PasswordError):
        opened(result)
    with opened(result, "pw") as pdf:
        assert pdf.encryption.R == 6 and len(pdf.pages) == 6
    assert result.artifact.name == "merged.pdf"


def test_a_fused_chain_gives_what_its_operations_give_one_at_a_time(app: Conversio, tmp_path: Path) -> None:
    words = ["alpha", "bravo", "charlie"]
    inputs = [make_pdf(tmp_path / f"doc{n}.pdf", pages=3, words=words) for n in (2, 1)]
    chain: Chain = [
        ("merge", {}),
        ("extract-pages", {"pages": "4,1-2"}),
        ("rotate", {"angle": 90, "pages": "1"}),
        ("watermark", {"text": "DRAFT", "pages": "2"}),
        ("metadata", {"title": "Joined"}),
        ("encrypt", {"user_password": "pw", "permissions": ["print"]}),
    ]
    together, apart = fused(app, inputs, chain), one_at_a_time(app, inputs, chain)
    texts = [
        page_texts(saved(r, tmp_path, f"{label}.pdf"), "pw") for r, label in ((together, "a"), (apart, "b"))
    ]
    assert texts[0] == texts[1]
    assert texts[0][0] == "Page 1 alpha" and "DRAFT" in texts[0][1]
    for result in (together, apart):
        with opened(result, "pw") as pdf:
            assert [page.obj.get("/Rotate", 0) for page in pdf.pages] == [90, 0, 0]
            assert str(pdf.docinfo["/Title"]) == "Joined"
            assert pdf.encryption.R == 6 and not pdf.allow.extract


def test_an_operation_after_encrypt_needs_the_password_as_it_would_alone(
    app: Conversio, tmp_path: Path
) -> None:
    source = [make_pdf(tmp_path / "three.pdf", pages=3)]
    encrypt = ("encrypt", {"user_password": "pw"})
    for run in (fused, one_at_a_time):
        with pytest.raises(ConversioError) as info:
            run(app, source, [encrypt, ("rotate", {"angle": 180})])
        assert info.value.code == "INVALID_PASSWORD"
    chain: Chain = [encrypt, ("rotate", {"angle": 180, "password": "pw"})]
    for result in (fused(app, source, chain), one_at_a_time(app, source, chain)):
        with opened(result) as pdf:  # saved plainly, as rotate saves what it opened
            assert not pdf.is_encrypted
            assert [page.obj.get("/Rotate", 0) for page in pdf.pages] == [180] * 3


def test_merge_then_split_names_the_parts_after_the_merged_pdf(app: Conversio, tmp_path: Path) -> None:
    inputs = [make_pdf(tmp_path / f"p{n}.pdf", pages=2, words=[f"w{n}"] * 2) for n in (1, 2, 3)]
    result = fused(app, inputs, [("merge", {}), ("split", {"every": 4})])
    assert [a.name for a in result.artifacts] == ["merged-part001.pdf", "merged-part002.pdf"]
    counts = []
    for artifact in result.artifacts:
        with app.store.open(artifact.id) as fh, pikepdf.open(io.BytesIO(fh.read())) as pdf:
            counts.append(len(pdf.pages))
    assert counts == [4, 2]


def test_compress_then_linearize_reports_the_bytes_saved(app: Conversio, tmp_path: Path) -> None:
    source = [make_pdf(tmp_path / "three.pdf", pages=3)]
    events: list[Event] = []
    result = fused(app, source, [("compress", {}), ("linearize", {})], events)
    with opened(result) as pdf:
        assert pdf.is_linearized
    messages = [e.message for e in events if e.kind is EventKind.PROGRESS and e.message]
    assert any(message.startswith("saved ") for message in messages)
