"""Randomly damaged documents end in a result or a clear error code, quickly, and soffice survives it."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from office_samples import sample_file

import conversio
from conversio.errors import ConversioError

FORMATS = ("docx", "doc", "odt", "rtf", "xlsx", "xls", "pptx", "ppt")
PER_FORMAT = 6


def damaged(good: bytes, rng: random.Random, index: int) -> bytes:
    data = bytearray(good)
    if index % 2:
        return bytes(data[: rng.randrange(16, len(data))])
    for _ in range(rng.randrange(1, 20)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_inputs_give_a_code(app: conversio.Conversio, tmp_path: Path, fmt: str) -> None:
    rng = random.Random(f"office-{fmt}")
    good = sample_file(fmt, tmp_path).read_bytes()
    outcomes = []
    for index in range(PER_FORMAT):
        path = tmp_path / f"damaged{index}.{fmt}"
        path.write_bytes(damaged(good, rng, index))
        artifact = app.store.put_file(path, name=path.name, format=fmt)
        start = time.monotonic()
        try:
            [pdf] = app.engine.run_converter(f"office.libreoffice:{fmt}->pdf", [artifact], {})
            assert app.store.open(pdf.id).read(5) == b"%PDF-"
            outcomes.append("ok")
        except ConversioError as exc:
            assert exc.code in ("CORRUPT_FILE", "INVALID_PASSWORD"), (
                exc
            )  # a flipped bit may read as "encrypted"
            outcomes.append(exc.code)
        assert time.monotonic() - start < 20
    assert "CORRUPT_FILE" in outcomes  # a truncated document at least is refused
    [again] = app.convert(sample_file(fmt, tmp_path), to="pdf").run().artifacts
    assert again.size > 0
