"""Plugin loading and the typed façade that is the only caller of ``pm.hook``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
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

ENTRY_POINT_GROUP = "conversio"
BUILTIN = "builtin"


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
            strict=env.get("CONVERSIO_STRICT_PLUGINS", "").lower() in ("1", "true", "yes"),
        )

    def permits(self, name: str) -> bool:
        if name in self.block:
            return False
        return self.allow is None or name in self.allow


class PluginHost:
    """Loads plugins and calls their hooks.

    ``autoload`` reads the ``conversio`` entry points; tests pass ``False`` and
    :meth:`register` what they need. The built-in plugin is always loaded.
    """

    def __init__(self, *, autoload: bool = True, policy: PluginPolicy | None = None) -> None:
        self.policy = policy or PluginPolicy.from_env()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._registry: Registry | None = None
        from conversio import builtin

        self.register(builtin, BUILTIN, distribution="conversio", version=distributions.version("conversio"))
        if autoload:
            self._load_entry_points()

    # -- loading -----------------------------------------------------------
    def register(self, plugin: object, name: str, *, distribution: str = "", version: str = "") -> None:
        """Add a plugin object or module under ``name``."""
        if self._pm.has_plugin(name):
            raise PluginError(f"a plugin named {name!r} is already registered", plugin=name)
        self._pm.register(plugin, name=name)
        self._infos[name] = PluginInfo(name, distribution, version)
        self._registry = None

    def unregister(self, name: str) -> None:
        self._pm.unregister(name=name)
        self._infos.pop(name, None)
        self._registry = None

    def _load_entry_points(self) -> None:
        eps = sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        for ep in eps:
            dist = ep.dist.name if ep.dist else ""
            version = ep.dist.version if ep.dist else ""
            if self._pm.has_plugin(ep.name) or ep.name in self._infos:
                continue
            if not self.policy.permits(ep.name):
                self._infos[ep.name] = PluginInfo(ep.name, dist, version, "disabled", "disabled by policy")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # any failure of third-party code
                self._broken(ep.name, dist, version, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(plugin, ep.name, distribution=dist, version=version)

    def _broken(self, name: str, dist: str, version: str, reason: str) -> None:
        if self.policy.strict:
            raise PluginError(f"plugin {name!r} is broken: {reason}", plugin=name, reason=reason)
        log.warning("plugin %s is broken and skipped: %s", name, reason)
        self._infos[name] = PluginInfo(name, dist, version, "broken", reason)

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
        registry = Registry()
        for name in [BUILTIN, *sorted(n for n in self._infos if n != BUILTIN)]:
            plugin = self._pm.get_plugin(name)
            if plugin is None:
                continue
            # Each plugin registers into its own scratch registry first, so a
            # plugin that fails half-way leaves nothing behind.
            scratch = Registry()
            try:
                self._call_registration(plugin, scratch, name)
                _merge(registry, scratch)
                registry.distributions.add(self._infos[name].distribution)
            except Exception as exc:
                info = self._infos[name]
                reason = exc.message if isinstance(exc, ConversioError) else f"{type(exc).__name__}: {exc}"
                self._pm.unregister(name=name)
                self._broken(name, info.distribution, info.version, f"registration failed: {reason}")
        return registry

    def _call_registration(self, plugin: object, scratch: Registry, name: str) -> None:
        info = self._infos[name]
        for hook_name, registrar in (
            ("register_formats", FormatRegistrar(scratch, name)),
            ("register_converters", ConverterRegistrar(scratch, name, info.distribution, info.version)),
            ("register_stores", StoreRegistrar(scratch, name)),
        ):
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                if impl.plugin is plugin:
                    key = "formats" if hook_name == "register_formats" else hook_name.split("_")[1]
                    impl.function(**{key: registrar})

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
        for impl in self._pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(cli=cli)
            except Exception as exc:
                log.warning("plugin %s could not add commands: %s", impl.plugin_name, exc)

    def emit(self, event: Event) -> None:
        """Pass ``event`` to every ``observe_event`` hook; observers never break a run."""
        for impl in self._pm.hook.observe_event.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception as exc:
                log.warning("plugin %s failed to observe an event: %s", impl.plugin_name, exc)


def _merge(registry: Registry, scratch: Registry) -> None:
    """Fold one plugin's declarations into ``registry``; conflicts name both plugins.

    Everything is checked before anything is added, so a conflict adds nothing.
    """
    check = Registry()
    check.formats = registry.formats.copy()
    check.converters = dict(registry.converters)
    check.stores = dict(registry.stores)
    for target in (check, registry):
        _add_all(target, scratch)


def _add_all(registry: Registry, scratch: Registry) -> None:
    for fmt in scratch.formats:
        registry.formats.add(fmt, owner=scratch.formats.owner(fmt.name))
    for spec in scratch.converters.values():
        ConverterRegistrar(registry, spec.plugin).add(spec)
    for scheme, factory in scratch.stores.items():
        StoreRegistrar(registry, "").add(scheme, factory)
    registry.suggestions.extend(scratch.suggestions)
