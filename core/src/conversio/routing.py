"""The router: cheapest chains of converters over the format graph.

The graph's nodes are *states*: a format, and whether we hold one file or a
bundle (a list of files). A one-to-one converter maps over a bundle, a
one-to-many converter turns a file (or each file of a bundle) into a bundle, a
many-to-one converter consumes a bundle (or a single file).

Two wildcards make archives and mixed inputs work:

* a converter whose target is ``*`` (unpacking) leads to the state
  ``(*, bundle)``: files whose formats are only known once they exist. It is
  only ever the *first* step of a route (unpack what the user gave), never
  reached after packing, and never inside a reroute: so a route cannot loop
  through archives, and nested archives are not unpacked behind the user's back;
* from ``(*, bundle)`` the router may use converters whose source is ``*``
  (packers), or a *reroute* step: at run time each item is routed on its own
  to the next waypoint or target.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence

import attrs

from conversio.converters import Cardinality, ConverterSpec
from conversio.errors import InvalidRequest, NoRoute
from conversio.formats import ANY
from conversio.registry import Registry

#: Cost of a reroute step (per-item routing decided at run time).
REROUTE_COST = 1.5
#: Cost multiplier for preferred converters.
PREFER_FACTOR = 0.5


@attrs.frozen
class RouteStep:
    """One step of a route: a converter, or a run-time reroute (``spec is None``)."""

    source: str
    target: str
    spec: ConverterSpec | None
    cost: float
    mapped: bool
    bundle_out: bool

    @property
    def converter(self) -> str:
        return self.spec.id if self.spec else "reroute"

    @property
    def is_reroute(self) -> bool:
        return self.spec is None

    def describe(self) -> str:
        if self.spec is None:
            return f"* → {self.target} (each item routed by its sniffed format)"
        card = self.spec.cardinality
        arrow = f"{_show(self.source)} → {_show(self.target)}"
        if card is Cardinality.ONE_TO_MANY:
            arrow += " (×items)" if self.spec.target == ANY else " (×pages)"
        elif card is Cardinality.MANY_TO_ONE:
            arrow += " (all → one)"
        elif self.mapped:
            arrow += " (each)"
        return f"{arrow}  [{self.spec.id}]"


def _show(fmt: str) -> str:
    return "members" if fmt == ANY else fmt


@attrs.frozen
class Route:
    """A chosen chain of steps from ``source`` to ``target``."""

    source: str
    target: str
    steps: tuple[RouteStep, ...]
    cost: float
    via: tuple[str, ...] = ()
    bundle_in: bool = False
    alternatives: tuple[Route, ...] = ()

    @property
    def hops(self) -> int:
        return len(self.steps)

    @property
    def bundle_out(self) -> bool:
        return self.steps[-1].bundle_out if self.steps else self.bundle_in

    @property
    def formats(self) -> list[str]:
        return [self.source, *(s.target for s in self.steps)]

    def __str__(self) -> str:
        if not self.steps:
            return f"{_show(self.source)} (nothing to do)"
        parts = [_show(self.source)]
        for step in self.steps:
            suffix = ""
            if step.spec and step.spec.cardinality is Cardinality.ONE_TO_MANY:
                suffix = " (×items)" if step.spec.target == ANY else " (×pages)"
            parts.append(_show(step.target) + suffix)
        return " → ".join(parts)

    def explain(self) -> str:
        """The chosen path step by step, then the best alternatives with their costs."""
        lines = [
            f"route {_show(self.source)} → {self.target}"
            + (f" via {', '.join(self.via)}" if self.via else "")
        ]
        lines.append(f"chosen: {self}  (cost {self.cost:g}, {self.hops} step{'s' * (self.hops != 1)})")
        for i, step in enumerate(self.steps, 1):
            lossy = " lossy" if step.spec and step.spec.lossy else ""
            lines.append(f"  {i}. {step.describe()}  cost {step.cost:g}{lossy}")
        if self.alternatives:
            lines.append("alternatives:")
            for alt in self.alternatives:
                ids = ", ".join(s.converter for s in alt.steps)
                lines.append(f"  - {alt}  (cost {alt.cost:g}) [{ids}]")
        else:
            lines.append("alternatives: none")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "target": self.target,
            "via": list(self.via),
            "cost": self.cost,
            "path": str(self),
            "steps": [
                {
                    "source": s.source,
                    "target": s.target,
                    "converter": s.converter,
                    "cost": s.cost,
                    "mapped": s.mapped,
                    "bundle_out": s.bundle_out,
                }
                for s in self.steps
            ],
            "alternatives": [a.to_dict() for a in self.alternatives],
        }


@attrs.frozen
class RoutePreferences:
    """Steering for the router: converters or engines to prefer or avoid.

    Entries match a converter id (``image.pillow:png->jpg``), an engine
    (``image.pillow``) or a plugin name (``image``).
    """

    prefer: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    avoid: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    max_hops: int | None = None

    def matches(self, spec: ConverterSpec, names: Iterable[str]) -> bool:
        return any(n in (spec.id, spec.engine, spec.plugin) for n in names)


_State = tuple[str, bool, int]  # format, bundle, index of the next waypoint


class Router:
    """Finds routes over the converters of a :class:`Registry`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._by_source: dict[str, list[ConverterSpec]] = {}
        for spec in sorted(registry.edges(), key=lambda s: s.id):
            self._by_source.setdefault(spec.source, []).append(spec)

    def _canonical(self, name: str) -> str:
        return self.registry.formats.canonical(name)

    def route(
        self,
        source: str,
        target: str,
        *,
        via: Sequence[str] = (),
        bundle: bool = False,
        preferences: RoutePreferences | None = None,
        alternatives: int = 0,
        unpack: bool = True,
    ) -> Route:
        """The cheapest route, ties broken by fewer steps, then converter ids.

        ``source`` may be ``*`` (a bundle of mixed formats). ``unpack=False``
        forbids an unpacking first step. ``NO_ROUTE`` if there is none; with
        ``alternatives`` > 0, the best other routes are attached for
        :meth:`Route.explain`.
        """
        prefs = preferences or RoutePreferences()
        source = self._canonical(source)
        target = self._canonical(target)
        waypoints = tuple(self._canonical(v) for v in via)
        bundle = bundle or source == ANY
        found = self._search(source, target, waypoints, bundle, prefs, frozenset(), unpack)
        if found is None:
            raise self._no_route(source, target, waypoints, prefs)
        if alternatives > 0:
            found = attrs.evolve(found, alternatives=tuple(self._alternatives(found, prefs, alternatives)))
        return found

    def _alternatives(self, best: Route, prefs: RoutePreferences, count: int) -> list[Route]:
        """Other good routes: ban each step of the best route in turn (and pairs of them)."""
        seen = {tuple(s.converter for s in best.steps)}
        found: list[Route] = []
        ids = [s.converter for s in best.steps if s.spec is not None]
        bans = [frozenset({i}) for i in ids] + [frozenset(p) for p in itertools.combinations(ids, 2)]
        for banned in bans:
            alt = self._search(best.source, best.target, best.via, best.bundle_in, prefs, banned, True)
            if alt is None:
                continue
            key = tuple(s.converter for s in alt.steps)
            if key not in seen:
                seen.add(key)
                found.append(alt)
        found.sort(key=lambda r: (r.cost, r.hops, [s.converter for s in r.steps]))
        return found[:count]

    def _edges(
        self, fmt: str, bundle: bool, prefs: RoutePreferences, banned: frozenset[str]
    ) -> Iterable[tuple[ConverterSpec, float]]:
        candidates = list(self._by_source.get(fmt, ()))
        if fmt != ANY and not self.registry.formats.is_archive(fmt):
            candidates += self._by_source.get(ANY, ())
        for spec in candidates:
            if spec.id in banned or prefs.matches(spec, prefs.avoid):
                continue
            factor = PREFER_FACTOR if prefs.prefer and prefs.matches(spec, prefs.prefer) else 1.0
            yield spec, spec.cost * factor

    def _search(
        self,
        source: str,
        target: str,
        via: tuple[str, ...],
        bundle: bool,
        prefs: RoutePreferences,
        banned: frozenset[str],
        unpack: bool,
    ) -> Route | None:
        """Dijkstra over (format, bundle, waypoint index[, hops]) states."""
        goal_index = len(via)

        def advance(fmt: str, index: int) -> int:
            while index < goal_index and via[index] == fmt:
                index += 1
            return index

        start: _State = (source, bundle, advance(source, 0))
        counter = itertools.count()
        # priority: cost, hops, converter ids (deterministic tie-break)
        heap: list[tuple[float, int, tuple[str, ...], int, _State, tuple[RouteStep, ...]]] = [
            (0.0, 0, (), next(counter), start, ())
        ]
        done: set[tuple[_State, int]] = set()
        max_hops = prefs.max_hops
        while heap:
            cost, hops, ids, _, state, steps = heapq.heappop(heap)
            fmt, is_bundle, index = state
            key = (state, hops if max_hops is not None else 0)
            if key in done:
                continue
            done.add(key)
            if fmt == target and index == goal_index:
                return Route(source, target, steps, cost, via, bundle)
            if max_hops is not None and hops >= max_hops:
                continue
            for step in self._steps_from(
                fmt, is_bundle, index, via, target, prefs, banned, unpack and hops == 0
            ):
                next_state = (step.target, step.bundle_out, advance(step.target, index))
                next_key = (next_state, hops + 1 if max_hops is not None else 0)
                if next_key in done:
                    continue
                heapq.heappush(
                    heap,
                    (
                        cost + step.cost,
                        hops + 1,
                        (*ids, step.converter),
                        next(counter),
                        next_state,
                        (*steps, step),
                    ),
                )
        return None

    def _steps_from(
        self,
        fmt: str,
        bundle: bool,
        index: int,
        via: tuple[str, ...],
        target: str,
        prefs: RoutePreferences,
        banned: frozenset[str],
        unpack: bool,
    ) -> Iterable[RouteStep]:
        for spec, cost in self._edges(fmt, bundle, prefs, banned):
            if spec.target != ANY or unpack:
                yield self.step(spec, fmt, bundle, cost)
        if fmt == ANY and "reroute" not in banned:
            next_goal = via[index] if index < len(via) else target
            if next_goal != ANY:
                yield RouteStep(ANY, next_goal, None, REROUTE_COST, True, True)

    def _no_route(self, source: str, target: str, via: tuple[str, ...], prefs: RoutePreferences) -> NoRoute:
        installed = self.registry.distributions
        hops = [source, *via, target]
        missing = []
        for a, b in itertools.pairwise(hops):
            missing += [d for d in self.registry.suggest(a, b) if d not in installed]
        suggestions = sorted(set(missing))
        message = f"no route from {_show(source)} to {target}" + (f" via {', '.join(via)}" if via else "")
        if prefs.max_hops is not None:
            message += f" within {prefs.max_hops} steps"
        if suggestions:
            message += f"; install {' or '.join(suggestions)} to add it"
        return NoRoute(
            message,
            source=source,
            target=target,
            via=list(via),
            suggestions=suggestions,
            reachable=sorted(self.reachable(source)),
        )

    def reachable(self, source: str) -> set[str]:
        """Every format some route leads to from ``source`` (one file)."""
        seen = {(source, False)}
        frontier = [(source, False)]
        while frontier:
            fmt, bundle = frontier.pop()
            for step in self._steps_from(
                fmt, bundle, 0, (), "", RoutePreferences(), frozenset(), fmt == source
            ):
                if step.is_reroute:
                    continue
                state = (step.target, step.bundle_out)
                if state not in seen:
                    seen.add(state)
                    frontier.append(state)
        return {fmt for fmt, _ in seen if fmt not in (source, ANY)}

    def sources_for(self, target: str) -> list[str]:
        """Formats that can be converted to ``target``."""
        target = self._canonical(target)
        return sorted(
            f.name for f in self.registry.formats if f.name != target and target in self.reachable(f.name)
        )

    @staticmethod
    def step(spec: ConverterSpec, fmt: str, bundle: bool, cost: float | None = None) -> RouteStep:
        """The step applying ``spec`` to one file (or a bundle) of ``fmt``."""
        card = spec.cardinality
        bundle_out = bundle if card is Cardinality.ONE_TO_ONE else card is Cardinality.ONE_TO_MANY
        mapped = bundle and card is not Cardinality.MANY_TO_ONE
        target = fmt if spec.operation and spec.target == ANY else spec.target
        return RouteStep(fmt, target, spec, spec.cost if cost is None else cost, mapped, bundle_out)

    def operation(self, name: str, fmt: str, bundle: bool) -> RouteStep:
        """The step applying operation ``name`` to the current ``fmt``."""
        specs = self.registry.operations(name)
        if not specs:
            raise InvalidRequest(
                f"unknown operation {name!r}; known operations: {', '.join(self.registry.operation_names()) or '(none)'}",
                operation=name,
                known=self.registry.operation_names(),
            )
        for spec in sorted(specs, key=lambda s: s.id):
            if spec.source in (fmt, ANY):
                return self.step(spec, fmt, bundle)
        formats = sorted({s.source for s in specs})
        raise NoRoute(
            f"operation {name!r} does not apply to {_show(fmt)}; it applies to {', '.join(formats)}",
            operation=name,
            format=fmt,
            applies_to=formats,
        )
