"""What the plugins declared: formats, converters, stores and install hints.

Plugins receive the registrars; the rest of conversio reads the
:class:`Registry` they fill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from conversio import distributions
from conversio.converters import ConverterSpec
from conversio.errors import PluginError
from conversio.formats import Format, FormatRegistry

if TYPE_CHECKING:
    from conversio.stores.base import ArtifactStore

StoreFactory = Callable[[str], "ArtifactStore"]


@attrs.frozen
class Suggestion:
    """A distribution that would add the edge ``source → target`` (``*`` matches any)."""

    source: str
    target: str
    distribution: str

    def matches(self, source: str, target: str) -> bool:
        return self.source in ("*", source) and self.target in ("*", target)


class Registry:
    """Formats, converters, stores and suggestions from every loaded plugin."""

    def __init__(self) -> None:
        self.formats = FormatRegistry()
        self.converters: dict[str, ConverterSpec] = {}
        self.stores: dict[str, StoreFactory] = {}
        #: The plugin that registered each store scheme.
        self.store_owners: dict[str, str] = {}
        self.suggestions: list[Suggestion] = []
        #: Distributions whose plugins are loaded (so suggestions skip them).
        self.distributions: set[str] = set()

    def operations(self, name: str) -> list[ConverterSpec]:
        """Every spec implementing the operation ``name`` (for any format)."""
        return [c for c in self.converters.values() if c.operation == name]

    def operation_names(self) -> list[str]:
        return sorted({c.operation for c in self.converters.values() if c.operation})

    def edges(self) -> list[ConverterSpec]:
        """The converters the router may use on its own (not operations)."""
        return [c for c in self.converters.values() if c.operation is None]

    def suggest(self, source: str, target: str) -> list[str]:
        """Distributions that would add a converter from ``source`` to ``target``."""
        return sorted({s.distribution for s in self.suggestions if s.matches(source, target)})


@attrs.define
class FormatRegistrar:
    """Handed to ``register_formats``."""

    registry: Registry
    plugin: str

    def add(self, fmt: Format) -> None:
        self.registry.formats.add(fmt, owner=self.plugin)


@attrs.define
class ConverterRegistrar:
    """Handed to ``register_converters``.

    A spec's ``version`` and ``install_hint`` left empty become those of the plugin's
    distribution: its ``version``, and ``pip install <distribution>``.
    """

    registry: Registry
    plugin: str
    distribution: str = ""
    version: str = ""

    def add(self, spec: ConverterSpec) -> None:
        existing = self.registry.converters.get(spec.id)
        if existing is not None:
            raise PluginError(
                f"converter id {spec.id!r} is registered by both {existing.plugin!r} and {self.plugin!r}",
                converter=spec.id,
                plugins=[existing.plugin, self.plugin],
            )
        self.registry.converters[spec.id] = attrs.evolve(
            spec,
            plugin=self.plugin,
            version=spec.version or self.version,
            install_hint=distributions.install_hint(self.distribution, otherwise=spec.install_hint),
        )

    def suggest(self, sources: str | Iterable[str], targets: str | Iterable[str], distribution: str) -> None:
        """Record that ``distribution`` converts ``sources`` to ``targets``."""
        for source in [sources] if isinstance(sources, str) else sources:
            for target in [targets] if isinstance(targets, str) else targets:
                self.registry.suggestions.append(Suggestion(source, target, distribution))


@attrs.define
class StoreRegistrar:
    """Handed to ``register_stores``."""

    registry: Registry
    plugin: str

    def add(self, scheme: str, factory: StoreFactory) -> None:
        owner = self.registry.store_owners.get(scheme)
        if owner is not None:
            raise PluginError(
                f"store scheme {scheme!r} is registered by both {owner!r} and {self.plugin!r}",
                scheme=scheme,
                plugins=[owner, self.plugin],
            )
        self.registry.stores[scheme] = factory
        self.registry.store_owners[scheme] = self.plugin
