"""Page ranges as users write them: 1-based, inclusive, in the order written."""

from __future__ import annotations

import pytest

from conversio.errors import InvalidOption
from conversio.pages import parse_pages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, [0, 1, 2, 3, 4]),
        ("", [0, 1, 2, 3, 4]),
        ("1-3,5", [0, 1, 2, 4]),
        ("4-", [3, 4]),
        ("-2", [0, 1]),
        (" 2 , 2-3 ", [1, 1, 2]),
        ("5,1", [4, 0]),
    ],
)
def test_parse_pages(text: str | None, expected: list[int]) -> None:
    assert parse_pages(text, 5) == expected


@pytest.mark.parametrize("text", ["0", "6", "3-2", "a", "1-2-3", "-", ",", "1,,2", "2-9"])
def test_parse_pages_rejects(text: str) -> None:
    with pytest.raises(InvalidOption):
        parse_pages(text, 5)
