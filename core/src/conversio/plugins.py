"""Plugin loading and the typed façade that is the only caller of ``pm.hook``.

Hooks are called through pluggy, so its order (``tryfirst``, ``trylast``), wrappers and
tracing hold (``CONVERSIO_TRACE_HOOKS=1`` writes every hook call to stderr). A plugin that
pluggy refuses (a hook argument no hook has), that implements a hook conversio does not have
(``pm.check_pending()``), whose import or registration fails, or whose declarations clash
with another plugin's is listed as broken with what to fix; ``CONVERSIO_STRICT_PLUGINS=1``
makes that an error.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import importlib_metadata
import pluggy

from conversio import distributions, hookspecs
from conversio.errors import ConversioError, PluginError
from conversio.events import Event
from conversio.registry import ConverterRegistrar, FormatRegistrar, Registry, StoreRegistrar

log = logging.getLogger(__name__)

BUILTIN = "builtin"
#: Set to 1 to write every hook call, its arguments and its result to stderr.
TRACE_HOOKS = "CONVERSIO_TRACE_HOOKS"
#: Every hook a plugin may implement.
HOOKS = tuple(sorted(n for n, f in vars(hookspecs).items() if hasattr(f, f"{hookspecs.PROJECT}_spec")))


@attrs.frozen
class PluginInfo:
    """A plugin as ``conversio plugins`` shows it."""

    name: str
    distribution: str = ""
    version: str = ""
    status: str = "loaded"  # loaded | broken | disabled
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return attrs.asdict(self)


def _names(value: str | None) -> set[str] | None:
    if value is None or not value.strip():
        return None
    return {part.strip() for part in value.split(",") if part.strip()}


def _switched_on(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


@attrs.frozen
class PluginPolicy:
    """Which plugins may load: ``CONVERSIO_LOAD_PLUGINS`` (allow-list),
    ``CONVERSIO_DISABLE_PLUGINS`` (block-list), ``CONVERSIO_STRICT_PLUGINS``
    (a broken plugin becomes an error)."""

    allow: frozenset[str] | None = None
    block: frozenset[str] = frozenset()
    strict: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PluginPolicy:
        env = os.environ if environ is None else environ
        allow = _names(env.get("CONVERSIO_LOAD_PLUGINS"))
        return cls(
            allow=frozenset(allow) if allow is not None else None,
            block=frozenset(_names(env.get("CONVERSIO_DISABLE_PLUGINS")) or ()),
            strict=_switched_on(env.get("CONVERSIO_STRICT_PLUGINS")),
        )

    def permits(self, name: str) -> bool:
        if name in self.block:
            return False
        return self.allow is None or name in self.allow


#: The argument each registration hook is called with.
_REGISTRATIONS = (
    ("register_formats", "formats"),
    ("register_converters", "converters"),
    ("register_stores", "stores"),
)


class PluginHost:
    """Loads plugins and calls their hooks.

    ``autoload`` reads the ``conversio`` entry points; tests pass ``False`` and
    :meth:`register` what they need. The built-in plugin is always loaded.
    """

    def __init__(self, *, autoload: bool = True, policy: PluginPolicy | None = None) -> None:
        self.policy = policy or PluginPolicy.from_env()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        if _switched_on(os.environ.get(TRACE_HOOKS)):
            self._pm.trace.root.setwriter(_to_stderr)
            self._pm.enable_tracing()
        self._infos: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None
        #: hook name → plugin name → a caller of that plugin's implementation alone
        self._callers: dict[str, dict[str, pluggy.HookCaller]] = {}
        from conversio import builtin

        self.register(builtin, BUILTIN, distribution="conversio", version=distributions.version("conversio"))
        if autoload:
            self._load_entry_points()

    # -- loading -----------------------------------------------------------
    def register(self, plugin: object, name: str, *, distribution: str = "", version: str = "") -> None:
        """Add a plugin object or module under ``name``; one pluggy refuses is listed as broken."""
        if self._pm.has_plugin(name):
            raise PluginError(f"a plugin named {name!r} is already registered", plugin=name)
        self._infos[name] = PluginInfo(name, distribution, version)
        self._changed()
        try:
            self._pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            if self._pm.has_plugin(name):  # older pluggy keeps what it added before failing
                self._pm.unregister(name=name)
            self._broken(name, _wrong_arguments(self._pm, plugin, exc))

    def unregister(self, name: str) -> None:
        if self._pm.has_plugin(name):
            self._pm.unregister(name=name)
        self._infos.pop(name, None)
        self._changed()

    def _changed(self) -> None:
        self._registry = None
        self._callers = {}

    def _load_entry_points(self) -> None:
        group = distributions.ENTRY_POINT_GROUP
        for ep in sorted(importlib_metadata.entry_points(group=group), key=lambda e: e.name):
            if ep.name in self._infos:
                continue
            info = PluginInfo(ep.name, ep.dist.name if ep.dist else "", ep.dist.version if ep.dist else "")
            if not self.policy.permits(ep.name):
                self._infos[ep.name] = attrs.evolve(info, status="disabled", reason="disabled by policy")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any failure of third-party code
                self._infos[ep.name] = info
                self._broken(ep.name, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(plugin, ep.name, distribution=info.distribution, version=info.version)

    def _broken(self, name: str, reason: str) -> None:
        """Mark the plugin ``name`` (already out of pluggy) broken; in strict mode, fail."""
        if self.policy.strict:
            raise PluginError(f"plugin {name!r} is broken: {reason}", plugin=name, reason=reason)
        log.warning("plugin %s is broken and skipped: %s", name, reason)
        self._infos[name] = attrs.evolve(self._infos[name], status="broken", reason=reason)

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, built-in first."""
        _ = self.registry  # building it may mark plugins broken
        return sorted(self._infos.values(), key=lambda p: (p.name != BUILTIN, p.name))

    # -- the façade ------------------------------------------------------
    @property
    def registry(self) -> Registry:
        """Formats, converters and stores of every loaded plugin (built once)."""
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> Registry:
        self._check_pending()
        registry = Registry()
        for name in [BUILTIN, *sorted(n for n in self._infos if n != BUILTIN)]:
            if not self._pm.has_plugin(name):
                continue
            # Each plugin registers into its own scratch registry first, so a
            # plugin that fails half-way leaves nothing behind.
            scratch = Registry()
            try:
                self._register_into(scratch, name)
                _merge(registry, scratch)
                registry.distributions.add(self._infos[name].distribution)
            except Exception as exc:
                reason = exc.message if isinstance(exc, ConversioError) else f"{type(exc).__name__}: {exc}"
                self._pm.unregister(name=name)
                self._changed()
                self._broken(name, f"registration failed: {reason}")
        return registry

    def _check_pending(self) -> None:
        """``pm.check_pending()``: a plugin implementing a hook that does not exist is broken."""
        while True:
            try:
                self._pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self._pm.get_name(exc.plugin)
                hooks = self._pm.get_hookcallers(exc.plugin) or []
                unknown = sorted(hook.name for hook in hooks if not hook.has_spec())
                self._pm.unregister(exc.plugin)
                self._changed()
                self._broken(str(name), "; ".join(_not_a_hook(hook_name) for hook_name in unknown))

    def _register_into(self, scratch: Registry, name: str) -> None:
        """Call the registration hooks of the plugin ``name`` alone, into ``scratch``."""
        info = self._infos[name]
        registrars = (
            FormatRegistrar(scratch, name),
            ConverterRegistrar(scratch, name, info.distribution, info.version),
            StoreRegistrar(scratch, name),
        )
        for (hook, argument), registrar in zip(_REGISTRATIONS, registrars, strict=True):
            caller = self._each(hook).get(name)
            if caller is not None:
                caller(**{argument: registrar})

    def _each(self, hook: str) -> dict[str, pluggy.HookCaller]:
        """A caller of ``hook`` per plugin implementing it, in pluggy's call order, each leaving out
        every other plugin's implementation (wrappers of plugins implementing nothing else of the
        hook stay: they wrap each call), so one plugin's failure stops no other plugin."""
        callers = self._callers.get(hook)
        if callers is None:
            impls = getattr(self._pm.hook, hook).get_hookimpls()
            impls = [i for i in impls if not (i.wrapper or i.hookwrapper)]
            callers = {}
            for impl in reversed(impls):  # pluggy calls the last of the list first
                others = [i.plugin for i in impls if i.plugin is not impl.plugin]
                callers.setdefault(impl.plugin_name, self._pm.subset_hook_caller(hook, others))
            self._callers[hook] = callers
        return callers

    def sniff(self, head: bytes, path: Path, name: str) -> str | None:
        """Ask the ``sniff_format`` hooks about the file at ``path`` that the user calls ``name``;
        a failing hook counts as no answer."""
        try:
            result = self._pm.hook.sniff_format(head=head, path=path, name=name)
        except Exception as exc:
            log.warning("a sniff_format hook failed: %s", exc)
            return None
        return str(result) if result else None

    def confirm(self, path: Path, format: str) -> bool | None:
        """Ask the ``confirm_format`` hooks whether ``path`` reads as ``format``: ``None`` when no
        plugin judges ``format``; a failing hook is a no."""
        try:
            answer = self._pm.hook.confirm_format(path=path, format=format)
        except Exception as exc:
            log.warning("a confirm_format hook failed: %s", exc)
            return False
        return None if answer is None else bool(answer)

    def add_commands(self, cli: Any) -> None:
        """Let plugins add CLI commands; a failing plugin is skipped."""
        for name, caller in self._each("register_commands").items():
            try:
                caller(cli=cli)
            except Exception as exc:
                log.warning("plugin %s could not add commands: %s", name, exc)

    def emit(self, event: Event) -> None:
        """Pass ``event`` to every ``observe_event`` hook; observers never break a run."""
        for name, caller in self._each("observe_event").items():
            try:
                caller(event=event)
            except Exception as exc:
                log.warning("plugin %s failed to observe an event: %s", name, exc)


def _not_a_hook(name: str) -> str:
    """What to fix about an implementation of ``name``, which is no conversio hook."""
    close = difflib.get_close_matches(name, HOOKS, n=1)
    advice = f"did you mean {close[0]}?" if close else f"the hooks are {', '.join(HOOKS)}"
    return f"hook {name} is not a conversio hook; {advice}"


def _wrong_arguments(pm: pluggy.PluginManager, plugin: object, error: Exception) -> str:
    """What to fix in ``plugin``, which pluggy refused: the arguments its hooks take that the
    hooks do not have (else pluggy's own last word)."""
    found = []
    for attr in dir(plugin):
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            continue
        hook = getattr(pm.hook, opts.get("specname") or attr, None)
        if hook is None or hook.spec is None:
            continue
        impl = pluggy.HookImpl(plugin, "", getattr(plugin, attr), opts)
        wrong = [a for a in impl.argnames if a not in hook.spec.argnames]
        if wrong:
            found.append(f"{hook.name} takes {_quoted(hook.spec.argnames)}, not {_quoted(wrong)}")
    return "; ".join(found) or str(error).strip().splitlines()[-1]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _to_stderr(text: str) -> None:
    """Where ``CONVERSIO_TRACE_HOOKS`` writes: the stderr of the moment."""
    sys.stderr.write(text)


def _merge(registry: Registry, scratch: Registry) -> None:
    """Fold one plugin's declarations into ``registry``; conflicts name both plugins.

    Everything is checked before anything is added, so a conflict adds nothing.
    """
    check = Registry()
    check.formats = registry.formats.copy()
    check.converters = dict(registry.converters)
    check.stores = dict(registry.stores)
    check.store_owners = dict(registry.store_owners)
    for target in (check, registry):
        _add_all(target, scratch)


def _add_all(registry: Registry, scratch: Registry) -> None:
    for fmt in scratch.formats:
        registry.formats.add(fmt, owner=scratch.formats.owner(fmt.name))
    for spec in scratch.converters.values():
        ConverterRegistrar(registry, spec.plugin).add(spec)
    for scheme, factory in scratch.stores.items():
        StoreRegistrar(registry, scratch.store_owners[scheme]).add(scheme, factory)
    registry.suggestions.extend(scratch.suggestions)
