"""Option declarations: typed defaults checked when declared, required options, descriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from conversio.errors import ConversioError, InvalidOption
from conversio.events import Event, EventKind
from conversio.options import Option, OptionsSchema
from conversio.testing import make_conversio
from conversio.testing.fakes import FakePlugin, spec, write_fake

ANGLE = Option("angle", "float", help="degrees to turn", min=-360, max=360, required=True)
SUFFIX = Option("suffix", "str", default="")


def test_a_missing_required_option_is_invalid_option_naming_it() -> None:
    schema = OptionsSchema.of(ANGLE, SUFFIX)
    with pytest.raises(InvalidOption) as info:
        schema.validate({"suffix": "!"})
    assert info.value.details == {"option": "angle", "options": ["angle"]}
    assert info.value.message == "missing required option 'angle' (degrees to turn)"
    assert schema.validate({"angle": "90"}) == {"angle": 90.0, "suffix": ""}


def test_every_missing_required_option_is_named() -> None:
    schema = OptionsSchema.of(ANGLE, Option("axis", "str", required=True))
    with pytest.raises(InvalidOption) as info:
        schema.validate({})
    assert info.value.details["options"] == ["angle", "axis"]
    assert info.value.message.startswith("missing required options 'angle' (degrees to turn); 'axis'")


@pytest.mark.parametrize("blank", ["", "   ", [], ["", " "]])
def test_a_required_option_given_blank_is_invalid_option(blank: object) -> None:
    schema = OptionsSchema.of(Option("text", "str", required=True), Option("names", "list", required=True))
    name = "names" if isinstance(blank, list) else "text"
    values = {"text": "x", "names": ["a"], name: blank}
    with pytest.raises(InvalidOption) as info:
        schema.validate(values)
    assert info.value.details["option"] == name and "needs a value" in info.value.message


def test_describe_says_required_and_shows_no_default() -> None:
    assert ANGLE.describe() == {
        "name": "angle",
        "type": "float",
        "help": "degrees to turn",
        "required": True,
        "min": -360,
        "max": 360,
    }
    assert "required" not in SUFFIX.describe()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "int", "default": "fast"}, "the default of option 'x'='fast' must be int"),
        ({"type": "int", "default": 12, "max": 9}, "must be at most 9"),
        ({"type": "str", "default": "medium", "choices": ("fast", "slow")}, "must be one of fast, slow"),
        ({"type": "float", "default": 1.0, "required": True}, "required, so it cannot have a default"),
    ],
)
def test_a_default_that_does_not_fit_its_declaration_is_refused(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Option("x", **kwargs)  # type: ignore[arg-type]


def test_the_default_is_held_as_its_type() -> None:
    dpi = Option("dpi", "float", default=96)
    assert dpi.default == 96.0 and type(dpi.default) is float
    assert OptionsSchema.of(dpi).validate({}) == {"dpi": 96.0}


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="'type' must be in"):
        Option("x", "decimal")  # type: ignore[arg-type]


def test_a_conversion_without_a_required_option_runs_no_step(tmp_path: Path) -> None:
    app = make_conversio(FakePlugin(spec("fa", "fb"), spec("fb", "fc", options=OptionsSchema.of(ANGLE))))
    source = write_fake(tmp_path / "x.fa", "fa")
    events: list[Event] = []
    with pytest.raises(ConversioError) as info:
        app.convert(source, to="fc").run(on_event=events.append)
    assert info.value.code == "INVALID_OPTION" and info.value.details["option"] == "angle"
    assert EventKind.STEP_STARTED not in [e.kind for e in events]
    assert app.convert(source, to="fc", options={"angle": 90}).run().read_bytes() == b"FAKE:fc\nhello\n"
