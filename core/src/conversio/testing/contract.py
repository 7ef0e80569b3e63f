"""``ConverterContract``: the checks every converter passes, built-in or third-party."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from conversio.api import Conversio
from conversio.converters import Cardinality, ConverterSpec
from conversio.errors import ConversioError
from conversio.formats import ANY
from conversio.sniffing import sniff
from conversio.stores.base import Artifact
from conversio.testing.factory import make_conversio

_IMPORT_PROBE = """
import importlib, json, sys
from conversio.plugins import PluginHost
host = PluginHost(autoload=False)
host.register(importlib.import_module(sys.argv[1]), "probe")
host.registry
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)))
"""


class ConverterContract:
    """Subclass per converter and set the class attributes; pytest collects the tests.

    ``make_sample`` writes a valid input; ``make_corrupt`` a damaged one (by
    default the sample's first 16 bytes followed by garbage; return ``None`` when
    the format has no notion of corrupt, as plain text).
    """

    #: The module holding the hook implementations (``"conversio_acme.plugin"``).
    plugin: ClassVar[str]
    #: The id of the converter under test.
    converter_id: ClassVar[str]
    #: Modules that must not be imported when the plugin registers (its engines, the converter's module).
    heavy_modules: ClassVar[tuple[str, ...]] = ()
    #: The options every test hands the converter, as a caller would give them (checked by the
    #: converter's schema, so they must include its required options).
    options: ClassVar[dict[str, Any]] = {}
    #: The error codes a corrupt input may give.
    corrupt_codes: ClassVar[tuple[str, ...]] = ("CORRUPT_FILE",)

    def make_sample(self, tmp_path: Path) -> Path:
        raise NotImplementedError("write a valid input file and return its path")

    def make_corrupt(self, tmp_path: Path) -> Path | None:
        sample = self.make_sample(tmp_path)
        head = sample.read_bytes()[:16]
        bad = tmp_path / f"corrupt-{sample.name}"
        bad.write_bytes(head + bytes(range(256)) * 4)
        return bad

    # -- helpers -----------------------------------------------------------
    @pytest.fixture
    def contract_app(self) -> Iterator[Conversio]:
        app = make_conversio(self.plugin)
        yield app
        app.close()

    def _spec(self, app: Conversio) -> ConverterSpec:
        spec = app.registry.converters.get(self.converter_id)
        assert spec is not None, f"{self.plugin} does not register {self.converter_id}"
        return spec

    def _convert(self, app: Conversio, path: Path) -> list[Artifact]:
        spec = self._spec(app)
        fmt = spec.source
        if fmt == ANY:
            fmt = sniff(path, app.registry.formats, app.host.sniff).format
        artifact = app.store.put_file(path, name=path.name, format=fmt)
        return app.engine.run_converter(self.converter_id, [artifact], self.options)

    # -- the contract --------------------------------------------------------
    def test_registration_imports_nothing_heavy(self) -> None:
        result = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, self.plugin, json.dumps(list(self.heavy_modules))],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == []

    def test_spec_is_well_formed(self, contract_app: Conversio) -> None:
        spec = self._spec(contract_app)
        for fmt in (spec.source, spec.target):
            assert fmt == ANY or fmt in contract_app.registry.formats
        assert spec.options.validate(self.options) is not None

    def test_sample_converts_to_target(self, contract_app: Conversio, tmp_path: Path) -> None:
        spec = self._spec(contract_app)
        outputs = self._convert(contract_app, self.make_sample(tmp_path))
        assert outputs, "no output"
        if spec.cardinality is not Cardinality.ONE_TO_MANY:
            assert len(outputs) == 1
        expected = spec.target if spec.target != ANY else None
        for artifact in outputs:
            assert artifact.size > 0 or expected is None
            if expected is not None:
                with contract_app.store.local_path(artifact.id) as path:
                    found = sniff(
                        path, contract_app.registry.formats, contract_app.host.sniff, name=artifact.name
                    )
                assert found.format == contract_app.registry.formats.canonical(expected)

    def test_input_untouched(self, contract_app: Conversio, tmp_path: Path) -> None:
        sample = self.make_sample(tmp_path)
        before = hashlib.sha256(sample.read_bytes()).hexdigest()
        self._convert(contract_app, sample)
        assert hashlib.sha256(sample.read_bytes()).hexdigest() == before

    def test_empty_input_is_corrupt(self, contract_app: Conversio, tmp_path: Path) -> None:
        """An empty file, as the engine treats it: a caller's empty file is ``EMPTY_FILE`` before any
        converter runs. A converter of any file (source ``*``, a packer) is still handed empty archive
        members, so it converts one; any other converter refuses one handed to it past that check
        (``EMPTY_FILE``, or ``CORRUPT_FILE``) instead of making a valid-looking result of nothing."""
        spec = self._spec(contract_app)
        empty = tmp_path / f"empty.{spec.source.replace('*', 'bin')}"
        empty.write_bytes(b"")
        with pytest.raises(ConversioError) as refused:
            contract_app.sniff(empty)  # what the API does to every input first
        assert refused.value.code == "EMPTY_FILE"
        if spec.source == ANY:
            assert self._convert_as_source(contract_app, empty), "an empty member gave no output"
            return
        with pytest.raises(ConversioError) as info:
            self._convert_as_source(contract_app, empty)
        assert info.value.code in ("EMPTY_FILE", "CORRUPT_FILE")

    def test_corrupt_input_is_reported(self, contract_app: Conversio, tmp_path: Path) -> None:
        bad = self.make_corrupt(tmp_path)
        if bad is None:
            pytest.skip("this format has no notion of a corrupt file")
        with pytest.raises(ConversioError) as info:
            self._convert_as_source(contract_app, bad)
        assert info.value.code in self.corrupt_codes

    def _convert_as_source(self, app: Conversio, path: Path) -> list[Artifact]:
        """Store ``path`` as the converter's source format without sniffing (it is broken)."""
        spec = self._spec(app)
        fmt = spec.source if spec.source != ANY else "bin"
        artifact = app.store.put_file(path, name=path.name, format=fmt)
        return app.engine.run_converter(self.converter_id, [artifact], self.options)
