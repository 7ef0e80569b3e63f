"""The router: cheapest chains of converters over the format graph.

A route holds one file or a bundle (a list of files) after each step. A
one-to-one converter maps over a bundle, a one-to-many converter turns a file
(or each file of a bundle) into a bundle, a many-to-one converter consumes a
bundle (or a single file). Since every converter applies to one file and to a
bundle alike, at the same cost, whether we hold a bundle never changes which
routes exist or what they cost: the search runs over formats (and the waypoints
reached so far), and the bundle flags of the winning route are worked out when
its steps are built.

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

import collections
import heapq
import itertools
from collections.abc import Iterable, Sequence

import attrs

from conversio._typing import str_tuple
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

    prefer: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    avoid: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    max_hops: int | None = None

    def matches(self, spec: ConverterSpec, names: Iterable[str]) -> bool:
        return any(n in (spec.id, spec.engine, spec.plugin) for n in names)


_State = tuple[str, int, int]  # format, index of the next waypoint, hops (with max_hops only)
_Key = tuple[float, int, tuple[str, ...]]  # cost, hops, converter ids: how paths are ranked
_Edge = tuple[float, str, str]  # cost, converter id, target format
#: The converter "id" of a reroute step.
REROUTE = "reroute"
#: At most this many extra searches are spent looking for alternatives.
MAX_ALTERNATIVE_SEARCHES = 24
#: How many (source, target, waypoints, preferences) answers a router remembers.
MAX_REMEMBERED_ROUTES = 4096


def _advance(via: tuple[str, ...], fmt: str, index: int) -> int:
    """The index of the next waypoint once ``fmt`` is reached."""
    while index < len(via) and via[index] == fmt:
        index += 1
    return index


class Router:
    """Finds routes over the converters of a :class:`Registry`."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._by_source: dict[str, list[_Edge]] = {}
        #: the terminal converters by source: only ever the last step of a route
        self._terminal: dict[str, list[_Edge]] = {}
        #: converter id, engine or plugin name → the converter ids it names
        self._named: dict[str, set[str]] = {}
        for spec in registry.edges():
            edges = self._terminal if spec.terminal else self._by_source
            edges.setdefault(spec.source, []).append((spec.cost, spec.id, spec.target))
            for name in (spec.id, spec.engine, spec.plugin):
                self._named.setdefault(name, set()).add(spec.id)
        self._out: dict[str, tuple[list[_Edge], list[_Edge]]] = {}
        #: best routes found so far (the converters are fixed once the router is built)
        self._found: dict[tuple[object, ...], Route | None] = {}

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
        key = (source, target, waypoints, bundle, prefs, unpack)
        try:
            found = self._found[key]
        except KeyError:
            found = self._search(source, target, waypoints, bundle, prefs, frozenset(), unpack)
            if len(self._found) >= MAX_REMEMBERED_ROUTES:
                self._found.clear()
            self._found[key] = found
        if found is None:
            raise self._no_route(source, target, waypoints, prefs)
        if alternatives > 0:
            found = attrs.evolve(found, alternatives=tuple(self._alternatives(found, prefs, alternatives)))
        return found

    def _alternatives(self, best: Route, prefs: RoutePreferences, count: int) -> list[Route]:
        """Other good routes: ban the steps of the best route one at a time, then, breadth first,
        one more step of each route so found (a bounded number of searches)."""
        seen = {tuple(s.converter for s in best.steps)}
        found: list[Route] = []
        queue = collections.deque(frozenset({s.converter}) for s in best.steps if s.spec is not None)
        tried = set(queue)
        for _ in range(MAX_ALTERNATIVE_SEARCHES):
            if not queue:
                break
            banned = queue.popleft()
            alt = self._search(best.source, best.target, best.via, best.bundle_in, prefs, banned, True)
            if alt is None:
                continue
            key = tuple(s.converter for s in alt.steps)
            if key not in seen:
                seen.add(key)
                found.append(alt)
            for step in alt.steps:
                more = banned | {step.converter}
                if step.spec is not None and more not in tried:
                    tried.add(more)
                    queue.append(more)
        found.sort(key=lambda r: (r.cost, r.hops, [s.converter for s in r.steps]))
        return found[:count]

    def _edges_from(self, fmt: str) -> tuple[list[_Edge], list[_Edge]]:
        """The converters that apply to ``fmt`` (its own, and the packers of ``*`` unless ``fmt``
        is an archive or ``*`` itself), as (converters, unpackers)."""
        found = self._out.get(fmt)
        if found is None:
            edges = list(self._by_source.get(fmt, ()))
            if fmt != ANY and not self.registry.formats.is_archive(fmt):
                edges += self._by_source.get(ANY, ())
            found = [e for e in edges if e[2] != ANY], [e for e in edges if e[2] == ANY]
            self._out[fmt] = found
        return found

    def _named_ids(self, names: Iterable[str]) -> frozenset[str]:
        """The ids of the converters that ``names`` (ids, engines or plugins) designate."""
        return frozenset(i for name in names for i in self._named.get(name, ()))

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
        """Dijkstra over (format, waypoint index[, hops]) states.

        Paths rank by (cost, hops, converter ids): the cheapest, then the one
        with fewer steps, then the smallest ids, so the answer never depends on
        registration order. A path is carried as its converter ids; steps are
        built only for the winner. This loop is the router's hot path (see
        bench/bench_router.py): keep per-edge work to a dict lookup.
        """
        avoided = self._named_ids(prefs.avoid) | banned
        preferred = self._named_ids(prefs.prefer)
        goal = len(via)
        max_hops = prefs.max_hops
        start: _State = (source, _advance(via, source, 0), 0)
        best: dict[_State, _Key] = {start: (0.0, 0, ())}
        heap: list[tuple[float, int, tuple[str, ...], _State]] = [(0.0, 0, (), start)]
        while heap:
            cost, hops, ids, state = heapq.heappop(heap)
            if best[state][2] is not ids:
                continue  # a better path to this state was found after this one was queued
            fmt, index, _ = state
            if fmt == target and index == goal:
                return self._build(source, target, via, bundle, ids, cost, preferred)
            if max_hops is not None and hops >= max_hops:
                continue
            hops += 1
            layer = hops if max_hops is not None else 0
            edges, unpackers = self._edges_from(fmt)
            if unpackers and unpack and hops == 1:
                edges = edges + unpackers  # unpacking is only ever the first step
            if index == goal and fmt in self._terminal:
                edges = edges + [e for e in self._terminal[fmt] if e[2] == target]  # only as the last step
            if fmt == ANY and REROUTE not in banned:
                next_goal = via[index] if index < goal else target
                if next_goal != ANY:
                    edges = [*edges, (REROUTE_COST, REROUTE, next_goal)]
            if avoided or preferred:
                edges = [
                    (c * PREFER_FACTOR if i in preferred else c, i, to)
                    for c, i, to in edges
                    if i not in avoided
                ]
            for step_cost, converter, to in edges:
                next_index = index if index == goal or via[index] != to else _advance(via, to, index)
                next_state = (to, next_index, layer)
                next_cost = cost + step_cost
                old = best.get(next_state)
                if old is not None and next_cost > old[0]:
                    continue
                key = (next_cost, hops, (*ids, converter))
                if old is not None and key >= old:
                    continue
                best[next_state] = key
                heapq.heappush(heap, (*key, next_state))
        return None

    def _build(
        self,
        source: str,
        target: str,
        via: tuple[str, ...],
        bundle: bool,
        ids: tuple[str, ...],
        cost: float,
        preferred: frozenset[str],
    ) -> Route:
        """The route that applies the converters ``ids`` in turn."""
        steps: list[RouteStep] = []
        fmt, is_bundle, index = source, bundle, _advance(via, source, 0)
        for converter in ids:
            if converter == REROUTE:
                step = RouteStep(
                    ANY, via[index] if index < len(via) else target, None, REROUTE_COST, True, True
                )
            else:
                spec = self.registry.converters[converter]
                factor = PREFER_FACTOR if converter in preferred else 1.0
                step = self.step(spec, fmt, is_bundle, spec.cost * factor)
            steps.append(step)
            fmt, is_bundle, index = step.target, step.bundle_out, _advance(via, step.target, index)
        return Route(source, target, tuple(steps), cost, via, bundle)

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
        seen = {source}
        frontier = [source]
        while frontier:
            fmt = frontier.pop()
            edges, unpackers = self._edges_from(fmt)
            for _, _, to in edges + unpackers if fmt == source else edges:
                if to not in seen:
                    seen.add(to)
                    frontier.append(to)
            seen.update(to for _, _, to in self._terminal.get(fmt, ()))  # reached, never left
        return seen - {source, ANY}

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
            known = ", ".join(self.registry.operation_names()) or "(none)"
            raise InvalidRequest(
                f"unknown operation {name!r}; known operations: {known}",
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
