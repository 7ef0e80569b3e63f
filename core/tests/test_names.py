"""Safe names: what converters and Result.save write never leaves its folder."""

from __future__ import annotations

import pytest

from conversio.converters import MAX_NAME_BYTES, safe_filename, safe_relpath


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("docs/a.pdf", "docs/a.pdf"),
        ("../../etc/passwd", "etc/passwd"),
        ("C:\\Windows\\system.ini", "Windows/system.ini"),
        ("/abs/x", "abs/x"),
        ("a\x00b", "a_b"),
        ("..", "file"),
    ],
)
def test_safe_relpath(raw: str, safe: str) -> None:
    assert safe_relpath(raw) == safe


def test_long_names_fit_in_bytes_and_keep_their_extension() -> None:
    name = safe_filename("ж" * 300 + ".png")
    assert name.endswith(".png") and len(name.encode()) <= MAX_NAME_BYTES
