"""Plugin loading: the built-in plugin, broken plugins, strict mode, allow/block lists, conflicts,
how hooks are called, and what importing conversio costs.

Entry-point plugins are real distributions (the ``distribute`` fixture of conftest.py), found
by importlib_metadata like an installed package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conversio.converters import ConverterSpec
from conversio.errors import ConversioError, PluginError
from conversio.events import Event, EventKind
from conversio.formats import Format, Kind
from conversio.hookspecs import hookimpl
from conversio.plugins import PluginHost, PluginInfo, PluginPolicy
from conversio.registry import ConverterRegistrar, FormatRegistrar
from conversio.testing import make_conversio
from conversio.testing.fakes import FakePlugin, chain_plugin, spec, write_fake

GOOD_MODULE = """
from conversio.formats import Format, Kind
from conversio.hookspecs import hookimpl

@hookimpl
def register_formats(formats):
    formats.add(Format("{fmt}", Kind.DATA, extensions=("{fmt}",)))
"""


def spec_of(id: str, source: str = "png", target: str = "jpg") -> ConverterSpec:
    return ConverterSpec(id=id, source=source, target=target, run="nowhere:never")


class Registers:
    """A plugin object that registers the given converters (and formats)."""

    def __init__(self, *specs: ConverterSpec, formats: tuple[Format, ...] = ()) -> None:
        self.specs = specs
        self.formats = formats

    @hookimpl
    def register_formats(self, formats: FormatRegistrar) -> None:
        for fmt in self.formats:
            formats.add(fmt)

    @hookimpl
    def register_converters(self, converters: ConverterRegistrar) -> None:
        for s in self.specs:
            converters.add(s)


class FailsToRegister(Registers):
    """Declares a format, then fails in ``register_converters``."""

    @hookimpl
    def register_converters(self, converters: ConverterRegistrar) -> None:
        raise RuntimeError("engine table missing")


#: ``distribute(dist, {entry point: source})``: the fixture of conftest.py.
Distribute = Callable[..., dict[str, str]]


def info_of(host: PluginHost, name: str) -> PluginInfo:
    [found] = [p for p in host.plugins if p.name == name]
    return found


ONLY = PluginPolicy(allow=frozenset({"good", "broken"}))


# -- the built-in plugin -----------------------------------------------------------------------


def test_builtin_plugin_is_always_loaded() -> None:
    for policy in (PluginPolicy(), PluginPolicy(allow=frozenset({"x"}), block=frozenset({"builtin"}))):
        host = PluginHost(autoload=False, policy=policy)
        assert host.plugins[0] == PluginInfo("builtin", "conversio", host.plugins[0].version, "loaded", "")
        assert "png" in host.registry.formats and "memory" in host.registry.stores


# -- entry points ----------------------------------------------------------------------------------


def test_entry_point_plugin_is_loaded_with_its_distribution(distribute: Distribute) -> None:
    modules = distribute("conversio-good", {"good": GOOD_MODULE.format(fmt="gd")})
    host = PluginHost(policy=ONLY)
    assert info_of(host, "good") == PluginInfo("good", "conversio-good", "1.2.3", "loaded", "")
    assert "gd" in host.registry.formats
    assert modules["good"] in sys.modules
    assert "conversio-good" in host.registry.distributions


def test_import_error_marks_the_plugin_broken_and_the_host_goes_on(distribute: Distribute) -> None:
    distribute("conversio-good", {"good": GOOD_MODULE.format(fmt="gd")})
    distribute("conversio-broken", {"broken": None})
    host = PluginHost(policy=ONLY)
    broken = info_of(host, "broken")
    assert (broken.status, broken.distribution) == ("broken", "conversio-broken")
    assert broken.reason.startswith("import failed: ModuleNotFoundError")
    assert "conversio_engine_that_is_not_installed" in broken.reason
    assert info_of(host, "good").status == "loaded"
    assert "gd" in host.registry.formats and "png" in host.registry.formats


def test_strict_env_turns_a_broken_import_into_an_error(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    distribute("conversio-broken", {"broken": None})
    monkeypatch.setenv("CONVERSIO_LOAD_PLUGINS", "broken")
    monkeypatch.setenv("CONVERSIO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as info:
        PluginHost()
    assert info.value.code == "PLUGIN_ERROR"
    assert info.value.details["plugin"] == "broken"
    assert "conversio_engine_that_is_not_installed" in info.value.message
    monkeypatch.setenv("CONVERSIO_STRICT_PLUGINS", "0")
    assert info_of(PluginHost(), "broken").status == "broken"


def test_allow_list_from_env(distribute: Distribute, monkeypatch: pytest.MonkeyPatch) -> None:
    modules = distribute(
        "conversio-two", {"one": GOOD_MODULE.format(fmt="f1"), "two": GOOD_MODULE.format(fmt="f2")}
    )
    monkeypatch.setenv("CONVERSIO_LOAD_PLUGINS", " one , ,")
    host = PluginHost()
    assert info_of(host, "one").status == "loaded"
    assert info_of(host, "two") == PluginInfo(
        "two", "conversio-two", "1.2.3", "disabled", "disabled by policy"
    )
    assert "f1" in host.registry.formats and "f2" not in host.registry.formats
    assert modules["two"] not in sys.modules, "a disabled plugin was imported"
    assert all(p.status == "disabled" for p in host.plugins if p.name not in ("builtin", "one"))


def test_block_list_from_env_wins_over_the_allow_list(
    distribute: Distribute, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = distribute(
        "conversio-two", {"one": GOOD_MODULE.format(fmt="f1"), "two": GOOD_MODULE.format(fmt="f2")}
    )
    monkeypatch.setenv("CONVERSIO_LOAD_PLUGINS", "one,two")
    monkeypatch.setenv("CONVERSIO_DISABLE_PLUGINS", "two")
    host = PluginHost()
    assert [(p.name, p.status) for p in host.plugins if p.name in ("one", "two")] == [
        ("one", "loaded"),
        ("two", "disabled"),
    ]
    assert modules["two"] not in sys.modules


def test_policy_from_env() -> None:
    assert PluginPolicy.from_env({}) == PluginPolicy(None, frozenset(), False)
    policy = PluginPolicy.from_env(
        {
            "CONVERSIO_LOAD_PLUGINS": "a, b",
            "CONVERSIO_DISABLE_PLUGINS": "b",
            "CONVERSIO_STRICT_PLUGINS": "true",
        }
    )
    assert policy == PluginPolicy(frozenset({"a", "b"}), frozenset({"b"}), True)
    assert [policy.permits(n) for n in ("a", "b", "c")] == [True, False, False]
    assert PluginPolicy.from_env({"CONVERSIO_LOAD_PLUGINS": "  "}).allow is None


# -- registration failures and conflicts ----------------------------------------------------------


def test_failing_registration_marks_broken_and_leaves_nothing_behind() -> None:
    host = PluginHost(autoload=False)
    host.register(
        FailsToRegister(formats=(Format("half", Kind.DATA),)), "halfway", distribution="conversio-half"
    )
    host.register(Registers(spec_of("ok.eng:png->jpg")), "fine")
    assert host.registry.converters.keys() == {"ok.eng:png->jpg"}
    assert "half" not in host.registry.formats, "a broken plugin left a format behind"
    broken = info_of(host, "halfway")
    assert broken.status == "broken"
    assert broken.reason == "registration failed: RuntimeError: engine table missing"
    assert "conversio-half" not in host.registry.distributions


def test_strict_policy_turns_a_failing_registration_into_an_error() -> None:
    host = PluginHost(autoload=False, policy=PluginPolicy(strict=True))
    host.register(FailsToRegister(), "halfway")
    with pytest.raises(PluginError) as info:
        _ = host.registry
    assert "engine table missing" in info.value.message


def test_duplicate_converter_id_breaks_the_second_plugin_naming_both() -> None:
    host = PluginHost(autoload=False)
    host.register(Registers(spec_of("same.eng:png->jpg")), "alpha")
    host.register(Registers(spec_of("same.eng:png->jpg", "png", "gif"), spec_of("zeta.eng:png->bmp")), "zeta")
    assert info_of(host, "alpha").status == "loaded"
    zeta = info_of(host, "zeta")
    assert zeta.status == "broken"
    assert "'same.eng:png->jpg'" in zeta.reason and "'alpha'" in zeta.reason and "'zeta'" in zeta.reason
    # the first keeps its converter; nothing of the second is registered
    assert host.registry.converters["same.eng:png->jpg"].target == "jpg"
    assert "zeta.eng:png->bmp" not in host.registry.converters


def test_duplicate_converter_id_in_strict_mode_names_both() -> None:
    host = PluginHost(autoload=False, policy=PluginPolicy(strict=True))
    host.register(Registers(spec_of("same.eng:png->jpg")), "alpha")
    host.register(Registers(spec_of("same.eng:png->jpg")), "zeta")
    with pytest.raises(PluginError) as info:
        _ = host.registry
    assert "'alpha'" in info.value.message and "'zeta'" in info.value.message
    with pytest.raises(PluginError):
        make_conversio(
            Registers(spec_of("builtin.eng:png->jpg")),
            Registers(spec_of("builtin.eng:png->jpg")),
            policy=PluginPolicy(strict=True),
        )


def test_conflicting_format_breaks_the_plugin() -> None:
    host = PluginHost(autoload=False)
    host.register(Registers(formats=(Format("png", Kind.DOCUMENT),)), "liar")
    liar = info_of(host, "liar")
    assert liar.status == "broken" and "'builtin'" in liar.reason and "'liar'" in liar.reason
    assert host.registry.formats.get("png").kind is Kind.IMAGE


def test_same_plugin_name_twice_is_an_error() -> None:
    host = PluginHost(autoload=False)
    host.register(Registers(), "twice")
    with pytest.raises(PluginError):
        host.register(Registers(), "twice")


# -- hooks that fail at run time -------------------------------------------------------------------


class BadObserver:
    seen: list[EventKind]

    def __init__(self) -> None:
        self.seen = []

    @hookimpl
    def observe_event(self, event: Event) -> None:
        self.seen.append(event.kind)
        raise RuntimeError("observer bug")


class BadSniffer:
    @hookimpl
    def sniff_format(self, head: bytes, path: Path) -> str | None:
        raise RuntimeError("sniffer bug")


def test_failing_observer_and_sniffer_do_not_break_a_run(tmp_path: Path) -> None:
    observer = BadObserver()
    app = make_conversio(chain_plugin(), observer, BadSniffer())
    result = app.convert(write_fake(tmp_path / "x.fa", "fa"), to="fb").run()
    assert result.read_bytes() == b"FAKE:fb\nhello\n"
    assert observer.seen[0] is EventKind.PLAN_STARTED and observer.seen[-1] is EventKind.PLAN_FINISHED


def test_plugins_add_converters_to_the_app(tmp_path: Path) -> None:
    app = make_conversio(FakePlugin(spec("fa", "fb")))
    assert [c.id for c in app.converters("fa")] == ["fake.test:fa->fb"]
    assert app.converters("fa")[0].plugin == "FakePlugin"


# -- how hooks are called ------------------------------------------------------------------------


class Observer:
    """Records into ``calls`` that it saw an event (``fails``: then raises)."""

    def __init__(self, calls: list[str], tag: str, *, fails: bool = False) -> None:
        self.calls, self.tag, self.fails = calls, tag, fails

    def seen(self) -> None:
        self.calls.append(self.tag)
        if self.fails:
            raise RuntimeError(f"{self.tag} observer bug")


class FirstObserver(Observer):
    @hookimpl(tryfirst=True)
    def observe_event(self, event: Event) -> None:
        self.seen()


class PlainObserver(Observer):
    @hookimpl
    def observe_event(self, event: Event) -> None:
        self.seen()


class LastObserver(Observer):
    @hookimpl(trylast=True)
    def observe_event(self, event: Event) -> None:
        self.seen()


class Wrapper:
    """A plugin that only wraps ``observe_event``: it sees every plugin's call."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl(wrapper=True)
    def observe_event(self, event: Event) -> Iterator[None]:
        self.calls.append("(")
        try:
            yield
        finally:
            self.calls.append(")")


EVENT = Event(EventKind.PLAN_STARTED)


def test_hooks_keep_pluggys_order_and_wrappers() -> None:
    """tryfirst runs first and trylast last whatever the registration order; a wrapper wraps each."""
    calls: list[str] = []
    host = PluginHost(autoload=False)
    host.register(FirstObserver(calls, "first"), "a-first")
    host.register(LastObserver(calls, "last"), "b-last")
    host.register(PlainObserver(calls, "older"), "c-older")
    host.register(PlainObserver(calls, "newer"), "d-newer")
    host.register(Wrapper(calls), "e-wrapper")
    host.emit(EVENT)
    assert calls == ["(", "first", ")", "(", "newer", ")", "(", "older", ")", "(", "last", ")"]


def test_sniffing_asks_a_tryfirst_plugin_before_the_builtin_one(tmp_path: Path) -> None:
    class Claims:
        @hookimpl(tryfirst=True)
        def sniff_format(self, head: bytes) -> str:
            return "txt"

    host = PluginHost(autoload=False)
    host.register(Claims(), "claims")
    zipped = tmp_path / "a.zip"
    zipped.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    assert host.sniff(zipped.read_bytes(), zipped, "a.zip") == "txt"


def test_a_failing_observer_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    host = PluginHost(autoload=False)
    host.register(PlainObserver(calls, "before"), "before")
    host.register(PlainObserver(calls, "bad", fails=True), "bad")
    host.register(PlainObserver(calls, "after"), "after")
    host.emit(EVENT)
    host.emit(EVENT)
    assert calls == ["after", "bad", "before"] * 2
    assert "plugin bad failed to observe an event: bad observer bug" in caplog.text


def test_a_plugin_failing_to_add_commands_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    import click

    class Adds:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            cli.add_command(click.Command("hello", callback=lambda: None))

    class Fails:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            raise RuntimeError("no click here")

    host = PluginHost(autoload=False)
    host.register(Adds(), "adds")
    host.register(Fails(), "fails")
    group = click.Group("conversio")
    host.add_commands(group)
    assert list(group.commands) == ["hello"]
    assert "plugin fails could not add commands: no click here" in caplog.text


def test_tracing_writes_every_hook_call_to_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVERSIO_TRACE_HOOKS", "1")
    host = PluginHost(autoload=False)
    host.register(Registers(spec_of("ok.eng:png->jpg")), "fine")
    _ = host.registry
    host.sniff(b"hello", tmp_path / "blob", "notes.txt")
    trace = capsys.readouterr().err
    assert "register_converters [hook]" in trace and "sniff_format [hook]" in trace
    assert "name: notes.txt" in trace and "finish sniff_format --> None [hook]" in trace
    monkeypatch.delenv("CONVERSIO_TRACE_HOOKS")
    _ = PluginHost(autoload=False).registry
    assert capsys.readouterr().err == ""


# -- import weight ----------------------------------------------------------------------------------

_PROBE = """
import json, sys
before = set(sys.modules)
import conversio
after_import = sorted(set(sys.modules) - before)
app = conversio.Conversio(store="memory://", executor="inline")
app.registry
plugins = [p.name for p in app.plugins]
print(json.dumps({"import": after_import, "all": sorted(sys.modules), "plugins": plugins}))
"""
HEAVY = ("PIL", "pillow_heif", "py7zr", "pikepdf", "pypdfium2", "rich", "click", "hypothesis", "pytest")


def test_import_and_registration_are_light() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # ``import conversio`` alone imports nothing outside the standard library
    foreign = [m for m in found["import"] if m.split(".")[0] not in sys.stdlib_module_names]
    assert foreign == ["conversio"], foreign
    # building the registry (with every installed plugin) imports no engine and no CLI library
    tops = {m.split(".")[0] for m in found["all"]}
    assert not tops & set(HEAVY), sorted(tops & set(HEAVY))
    assert found["plugins"][0] == "builtin"


def test_a_plugin_error_is_a_conversio_error() -> None:
    assert issubclass(PluginError, ConversioError)
