"""A plugin author's mistakes: each is the plugin's own error, naming the plugin and what to fix,
shown by ``conversio plugins``, and fatal only in strict mode. The host and every other plugin
go on.

The plugins are real installed distributions (the ``distribute`` fixture of conftest.py): a YAML
plugin as its author first wrote it, one mistake at a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conversio.api import Conversio
from conversio.converters import load_callable
from conversio.errors import ConversioError, PluginError
from conversio.hookspecs import hookimpl
from conversio.plugins import PluginHost, PluginInfo, PluginPolicy
from conversio.testing.fakes import chain_plugin, write_fake

#: The ``distribute`` fixture of conftest.py (``Distributions``).
Distribute = Any

YAML_FORMAT = """
from conversio.formats import Format, Kind
from conversio.hookspecs import hookimpl

@hookimpl
def register_formats(formats):
    formats.add(Format("yaml", Kind.TEXT, "YAML", {arguments}))
"""
YAML_EXTENSIONS = 'extensions=("yaml", "yml")'

#: Each mistake, as the entry point's module, and the reason ``conversio plugins`` gives.
MISTAKES = {
    "argument": (
        "from conversio.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_converters(registrar):\n    pass\n",
        "register_converters takes 'converters', not 'registrar'",
    ),
    "misspelt": (
        "from conversio.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_converter(converters):\n    pass\n",
        "hook register_converter is not a conversio hook; did you mean register_converters?",
    ),
    "alias": (
        YAML_FORMAT.format(arguments=YAML_EXTENSIONS + ', aliases=("json",)'),
        "registration failed: format 'yaml' of 'alias' declares the alias 'json', "
        "which format 'json' of 'builtin' already has",
    ),
    "extension": (
        YAML_FORMAT.format(arguments='extensions=("yaml", "txt")'),
        "registration failed: format 'yaml' of 'extension' declares the extension 'txt', "
        "which format 'txt' of 'builtin' already has",
    ),
    "store": (
        "from conversio.hookspecs import hookimpl\n\n"
        "@hookimpl\ndef register_stores(stores):\n    stores.add('memory', lambda url: None)\n",
        "registration failed: store scheme 'memory' is registered by both 'builtin' and 'store'",
    ),
}


def install_mistakes(distribute: Distribute, *names: str) -> None:
    for name in names:
        distribute(f"conversio-{name}", {name: MISTAKES[name][0]})


def only(*names: str) -> PluginPolicy:
    return PluginPolicy(allow=frozenset(names))


def info_of(host: PluginHost, name: str) -> PluginInfo:
    [found] = [p for p in host.plugins if p.name == name]
    return found


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_breaks_only_its_plugin_and_says_what_to_fix(
    distribute: Distribute, mistake: str
) -> None:
    install_mistakes(distribute, mistake)
    distribute("conversio-good", {"good": YAML_FORMAT.format(arguments=YAML_EXTENSIONS)})
    host = PluginHost(policy=only(mistake, "good"))
    assert info_of(host, mistake) == PluginInfo(
        mistake, f"conversio-{mistake}", "1.2.3", "broken", MISTAKES[mistake][1]
    )
    assert info_of(host, "good").status == "loaded"
    assert host.registry.formats.by_extension("yml") == host.registry.formats.get("yaml")
    assert host.registry.formats.by_extension("txt") == host.registry.formats.get("txt")
    assert host.registry.formats.get("json").name == "json"
    assert host.registry.store_owners["memory"] == "builtin"
    assert f"conversio-{mistake}" not in host.registry.distributions


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_strict_mode_makes_each_mistake_an_error_naming_the_plugin(
    distribute: Distribute, mistake: str
) -> None:
    install_mistakes(distribute, mistake)
    with pytest.raises(PluginError) as info:
        _ = PluginHost(policy=PluginPolicy(allow=frozenset({mistake}), strict=True)).registry
    assert info.value.message == f"plugin {mistake!r} is broken: {MISTAKES[mistake][1]}"
    assert info.value.details["plugin"] == mistake


def test_a_hook_name_far_from_any_lists_the_hooks() -> None:
    class Confused:
        @hookimpl
        def on_startup(self) -> None:
            pass

    host = PluginHost(autoload=False)
    host.register(Confused(), "confused")
    reason = info_of(host, "confused").reason
    assert reason.startswith("hook on_startup is not a conversio hook; the hooks are confirm_format, ")
    assert "register_converters" in reason and "sniff_format" in reason


def test_a_broken_plugin_breaks_no_conversion(distribute: Distribute, tmp_path: Path) -> None:
    """``conversio.convert`` with a plugin pluggy refuses installed: converts, and lists it."""
    install_mistakes(distribute, "argument", "misspelt")
    with Conversio(plugins={"chain": chain_plugin()}, store="memory://", executor="inline") as app:
        result = app.convert(write_fake(tmp_path / "x.fa", "fa"), to="fb").run()
        assert result.read_bytes() == b"FAKE:fb\nhello\n"
        statuses = {p.name: p.status for p in app.plugins}
    assert statuses["argument"] == statuses["misspelt"] == "broken" and statuses["chain"] == "loaded"


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


# -- the command line ----------------------------------------------------------------------------


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``conversio ARGS`` in a process that finds the distributions installed in ``site``."""
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "conversio", *args],
        env={**environ, "CONVERSIO_STORE": "memory://", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_conversio_plugins_lists_every_mistake_with_what_to_fix(distribute: Distribute) -> None:
    install_mistakes(distribute, *MISTAKES)
    done = run_cli(distribute.site, "plugins")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    for name, (_, reason) in MISTAKES.items():
        assert lines[name].split()[1] == "broken", lines[name]
        assert lines[name].endswith(f"({reason})"), lines[name]
    listed = {p["name"]: p for p in json.loads(run_cli(distribute.site, "plugins", "--json").stdout)}
    assert listed["argument"]["reason"] == MISTAKES["argument"][1]
    assert "Traceback" not in done.stderr


def test_strict_mode_on_the_command_line_is_a_coded_error(distribute: Distribute) -> None:
    install_mistakes(distribute, "argument")
    done = run_cli(distribute.site, "plugins", CONVERSIO_STRICT_PLUGINS="1")
    assert done.returncode == 4
    reason = MISTAKES["argument"][1]
    assert done.stderr.strip() == f"error PLUGIN_ERROR: plugin 'argument' is broken: {reason}"
    helped = run_cli(distribute.site, "--help", CONVERSIO_STRICT_PLUGINS="1")
    assert helped.returncode == 0 and "Traceback" not in helped.stderr
