"""The contract kit itself: it passes its options, it fails a converter that makes something of
nothing, and it says which extra to install when pytest is missing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conversio.api import Conversio
from conversio.converters import ConversionRequest, ConverterSpec, Output, with_extension
from conversio.options import Option, OptionsSchema
from conversio.testing import ConverterContract, make_conversio
from conversio.testing.fakes import FakePlugin, spec, write_fake

MODE = OptionsSchema.of(Option("mode", "str", choices=("strict", "loose"), required=True))


def lenient(request: ConversionRequest) -> list[Output]:
    """Makes a valid-looking fb of anything, an empty file included."""
    out = request.output(with_extension(request.input.name, request.target))
    out.path.write_text(f"FAKE:{request.target}\n{request.input.path.read_text()}\n")
    return [out]


def pack(request: ConversionRequest) -> list[Output]:
    """Takes any file, an empty one included (a packer)."""
    out = request.output("packed.fb")
    out.path.write_text(f"FAKE:fb\n{request.input.path.stat().st_size} bytes\n")
    return [out]


PLUGIN = FakePlugin(
    spec("fa", "fb", options=MODE),  # the fakes' relabel: an empty file is CORRUPT_FILE
    ConverterSpec(id="fake.test:fa->fc", source="fa", target="fc", run="test_contract_kit:lenient"),
    ConverterSpec(id="fake.test:*->fb", source="*", target="fb", run="test_contract_kit:pack"),
)


class KitUnderTest(ConverterContract):
    """The contract for a converter of PLUGIN, run by hand below (not collected: no Test prefix)."""

    plugin = "unused"
    converter_id = "fake.test:fa->fb"
    options: ClassVar[dict[str, Any]] = {"mode": "strict"}

    def make_sample(self, tmp_path: Path) -> Path:
        return write_fake(tmp_path / "sample.fa", "fa")


@pytest.fixture
def app() -> Iterator[Conversio]:
    made = make_conversio(PLUGIN)
    yield made
    made.close()


def test_the_empty_input_test_passes_the_options(app: Conversio, tmp_path: Path) -> None:
    """The converter needs ``mode``: without the kit's options this would be INVALID_OPTION."""
    KitUnderTest().test_empty_input_is_corrupt(app, tmp_path)
    KitUnderTest().test_sample_converts_to_target(app, tmp_path)


def test_a_converter_that_makes_something_of_an_empty_file_fails(app: Conversio, tmp_path: Path) -> None:
    class Lenient(KitUnderTest):
        converter_id = "fake.test:fa->fc"
        options: ClassVar[dict[str, Any]] = {}

    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        Lenient().test_empty_input_is_corrupt(app, tmp_path)


def test_a_converter_of_any_file_must_take_an_empty_one(app: Conversio, tmp_path: Path) -> None:
    class Packer(KitUnderTest):
        converter_id = "fake.test:*->fb"
        options: ClassVar[dict[str, Any]] = {}

    Packer().test_empty_input_is_corrupt(app, tmp_path)


def test_the_kit_without_pytest_says_which_extra_to_install() -> None:
    probe = "import sys; sys.modules['pytest'] = None\nimport conversio.testing"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "ImportError: conversio.testing needs pytest, which is not installed: "
        "pip install 'conversio[testing]'"
    )
