"""Options of type json: JSON text (the command line, a form field) and JSON values (an HTTP
body, the Python API) give the converter the same value."""

from __future__ import annotations

from typing import Any

import pytest

from conversio.errors import ConversioError
from conversio.options import Option, OptionsSchema

SCHEMA = OptionsSchema.of(Option("data", "json", required=True, help="field → value"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ('{"name": "Ada", "agree": true}', {"name": "Ada", "agree": True}),
        ({"name": "Ada", "agree": True}, {"name": "Ada", "agree": True}),
        ("[1, 2]", [1, 2]),
        ('"text"', "text"),
        (3, 3),
    ],
)
def test_json_text_and_json_values_give_the_same_value(given: Any, expected: Any) -> None:
    assert SCHEMA.validate({"data": given}) == {"data": expected}


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("{not json" + " " * 100, "is not valid JSON"),
        ({"a": {1, 2}}, "must be a JSON value"),
        ({"a": float("nan")}, "must be a JSON value"),
    ],
)
def test_what_is_not_json_is_refused(given: Any, words: str) -> None:
    with pytest.raises(ConversioError) as caught:
        SCHEMA.validate({"data": given})
    assert (caught.value.code, caught.value.details["option"]) == ("INVALID_OPTION", "data")
    assert words in caught.value.message and len(caught.value.message) < 200


def test_a_json_option_is_described_as_json() -> None:
    assert SCHEMA.describe() == [{"name": "data", "type": "json", "help": "field → value", "required": True}]
