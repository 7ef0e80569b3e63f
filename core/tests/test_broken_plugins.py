"""What a converter's ``run=`` names, and where its version and install hint come from: a
module of the plugin's own package that does not import is the plugin's mistake, a missing
engine a missing dependency with the distribution's hint.

The plugins are real installed distributions (the ``distribute`` fixture of conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conversio.api import Conversio
from conversio.converters import load_callable
from conversio.errors import ConversioError, PluginError
from conversio.plugins import PluginHost, PluginPolicy

#: The ``distribute`` fixture of conftest.py (``Distributions``).
Distribute = Any


def only(*names: str) -> PluginPolicy:
    return PluginPolicy(allow=frozenset(names))


# -- what a converter's run= names ------------------------------------------------------------------

CONVERTER = """
from conversio.converters import ConverterSpec
from conversio.formats import Format, Kind
from conversio.hookspecs import hookimpl

@hookimpl
def register_formats(formats):
    formats.add(Format("yaml", Kind.TEXT, "YAML", extensions=("yaml", "yml")))

@hookimpl
def register_converters(converters):
    converters.add(ConverterSpec(id="yaml.py:json->yaml", source="json", target="yaml",
                                 run=__name__ + ".{module}:json_to_yaml"{more}))
"""
ENGINE = "import {engine}\n\ndef json_to_yaml(request):\n    return []\n"


def yaml_plugin(
    distribute: Distribute, module: str, more: str = "", engine: str = "yamlfast_not_installed", **kwargs: Any
) -> str:
    """The YAML plugin, its converter's ``run=`` in ``module`` of its package; the converter
    module imports ``engine``."""
    [package] = distribute(
        "conversio-yaml",
        {"yaml": CONVERTER.format(module=module, more=more)},
        files={"convert.py": ENGINE.format(engine=engine)},
        **kwargs,
    ).values()
    return package


def spec_of(policy: PluginPolicy | None = None) -> tuple[str, str, str]:
    spec = PluginHost(policy=policy or only("yaml")).registry.converters["yaml.py:json->yaml"]
    return spec.run, spec.install_hint, spec.version


def test_a_run_path_in_the_plugins_own_package_that_does_not_import_is_a_plugin_error(
    distribute: Distribute, tmp_path: Path
) -> None:
    package = yaml_plugin(distribute, "convertt")
    run, hint, _ = spec_of()
    with pytest.raises(PluginError) as info:
        load_callable(run, hint=hint, what="yaml.py:json->yaml")
    expected = f"{package}.convertt cannot be imported; check run="
    assert info.value.message == f"converter yaml.py:json->yaml: {expected}"
    # the same through a conversion, in a worker process
    (tmp_path / "data.json").write_text('{"a": 1}')
    app = Conversio(store="memory://", executor="process", workers=1, policy=only("yaml"))
    with app, pytest.raises(ConversioError) as failed:
        app.convert(tmp_path / "data.json", to="yaml").run()
    assert failed.value.code == "PLUGIN_ERROR"
    assert expected in failed.value.message
    assert "pip install" not in failed.value.message


def test_a_run_function_that_is_not_there_is_a_plugin_error(distribute: Distribute) -> None:
    package = yaml_plugin(distribute, "convert", engine="json")
    with pytest.raises(PluginError) as info:
        load_callable(f"{package}.convert:yaml_to_json", what="yaml.py:yaml->json")
    expected = f"{package}.convert has no yaml_to_json; check run="
    assert info.value.message == f"converter yaml.py:yaml->json: {expected}"


def test_a_missing_engine_is_a_missing_dependency_with_the_distributions_hint(distribute: Distribute) -> None:
    yaml_plugin(distribute, "convert")
    run, hint, version = spec_of()
    assert (hint, version) == ("pip install conversio-yaml", "1.2.3")  # from the distribution
    with pytest.raises(ConversioError) as info:
        load_callable(run, hint=hint, what="yaml.py:json->yaml")
    assert info.value.code == "MISSING_DEPENDENCY"
    assert info.value.message == (
        "yaml.py:json->yaml needs yamlfast_not_installed, which is not installed; pip install conversio-yaml"
    )


def test_the_extra_that_provides_a_missing_engine_is_the_hint(distribute: Distribute) -> None:
    yaml_plugin(
        distribute,
        "convert",
        requires=["conversio>=0.1", "pytest; extra == 'test'", "yamlfast-not-installed>=2; extra == 'fast'"],
    )
    run, hint, _ = spec_of()
    with pytest.raises(ConversioError) as info:
        load_callable(run, hint=hint, what="yaml.py:json->yaml")
    assert info.value.code == "MISSING_DEPENDENCY"
    assert info.value.details["install_hint"] == "pip install 'conversio-yaml[fast]'"


def test_a_spec_keeps_its_own_version_and_install_hint(distribute: Distribute) -> None:
    yaml_plugin(distribute, "convert", more=', version="7", install_hint="apt-get install yamlfast"')
    _, hint, version = spec_of()
    assert (hint, version) == ("apt-get install yamlfast", "7")


def test_upgrading_a_plugin_changes_its_converters_version(distribute: Distribute) -> None:
    yaml_plugin(distribute, "convert", version="2.0.0")
    assert spec_of()[2] == "2.0.0"
