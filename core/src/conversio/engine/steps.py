"""The steps a run executes: converter calls with their options, and reroutes.

A route's step either names a converter or, from a bundle of files whose formats are only
known at run time (an archive's members), is a reroute: each file routed on its own. The
engine turns every route step into one of the two types here, with the options it takes,
so that no code past this point asks which kind of step it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from conversio.converters import Cardinality, ConverterSpec, StepCall
from conversio.options import unknown_options
from conversio.routing import Route, RouteStep


@attrs.frozen
class Call:
    """One converter call: ``spec`` applied to files of ``source``, with its validated ``options``."""

    spec: ConverterSpec
    source: str
    target: str
    options: dict[str, Any]
    #: whether it maps over a bundle, and whether it hands on one (:class:`~conversio.routing.RouteStep`)
    mapped: bool
    bundle_out: bool
    description: str

    @classmethod
    def of(cls, step: RouteStep, options: Mapping[str, Any]) -> Call:
        """The call ``step`` makes, with ``options`` validated (an unknown one is ``INVALID_OPTION``)."""
        spec = step.spec
        if spec is None:
            raise ValueError(f"{step.describe()} calls no converter")
        valid = spec.options.validate(options)
        return cls(spec, step.source, step.target, valid, step.mapped, step.bundle_out, step.describe())

    @property
    def converter(self) -> str:
        return self.spec.id

    @property
    def function(self) -> str:
        """What the worker imports and calls (``module:function``)."""
        return self.spec.run

    @property
    def install_hint(self) -> str:
        return self.spec.install_hint

    @property
    def engine(self) -> str:
        return self.spec.engine

    @property
    def makes(self) -> str:
        """The format of what it makes (``*``: each output's own, sniffed)."""
        return self.spec.target

    @property
    def cardinality(self) -> Cardinality:
        return self.spec.cardinality

    @property
    def calls(self) -> tuple[Call, ...]:
        """The converters that make this step's output (for its cache key)."""
        return (self,)

    @property
    def fused(self) -> tuple[StepCall, ...]:
        """The operations a fused call applies (:class:`~conversio.engine.fusion.Fused`); none here."""
        return ()

    def describe(self) -> str:
        return self.description


@attrs.frozen
class Reroute:
    """Route each file on its own, by its sniffed format, to ``target``; ``options`` go to every
    step that declares them."""

    target: str
    options: Mapping[str, Any]


def route_steps(route: Route, options: Mapping[str, Any]) -> list[Call | Reroute]:
    """The steps of ``route``, each with the options it declares (an option goes to every step
    that declares it); an option no step declares is ``INVALID_OPTION``, unless a reroute may
    still find a step for it at run time."""
    specs = converters_of(route)
    if len(specs) == len(route.steps):
        check_declared(options, specs)
    return [
        Reroute(s.target, options) if s.spec is None else Call.of(s, declared(options, [s.spec]))
        for s in route.steps
    ]


def converters_of(route: Route) -> list[ConverterSpec]:
    """The converters ``route`` calls (a reroute calls none of its own)."""
    return [s.spec for s in route.steps if s.spec is not None]


def declared(options: Mapping[str, Any], specs: Iterable[ConverterSpec]) -> dict[str, Any]:
    """Those of ``options`` one of ``specs`` declares."""
    names = {o.name for spec in specs for o in spec.options}
    return {k: v for k, v in options.items() if k in names}


def check_declared(options: Mapping[str, Any], specs: Iterable[ConverterSpec]) -> None:
    """``INVALID_OPTION`` (listing the valid ones) for options none of ``specs`` declares."""
    valid = [o for spec in specs for o in spec.options]
    unknown = [k for k in options if k not in {o.name for o in valid}]
    if unknown:
        raise unknown_options(unknown, valid)
