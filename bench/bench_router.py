"""Router benchmark: route time on a large synthetic format graph, against a plain Dijkstra.

    python -m bench.bench_router [--pairs 500] [--seed 7]    (writes bench/results/router-<date>.md)

The graph has >= 200 formats in families (like image, document, audio) with
dense edges inside a family and a few bridges between them, 1→n and n→1
converters, and archive formats with packers and unpackers: >= 5,000
converters, none of which is ever run. The baseline is the Dijkstra one would
write by hand: one state per format, no bundles, waypoints, tie-breaks or
preferences. It answers a simpler question, so the ratio is the price of
those features.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.common import write_report
from conversio.converters import Cardinality, ConverterSpec
from conversio.formats import ANY, Format, Kind
from conversio.registry import ConverterRegistrar, FormatRegistrar, Registry
from conversio.routing import Router

FAMILIES = 10
PER_FAMILY = 20
ARCHIVES = 6
CONVERTERS = 5000
COSTS = (0.5, 1.0, 1.0, 1.5, 2.0, 3.0)


def build_registry(seed: int) -> Registry:
    """The synthetic graph: FAMILIES × PER_FAMILY formats plus archives, CONVERTERS edges."""
    rng = random.Random(seed)
    registry = Registry()
    families = [[f"k{k}f{i}" for i in range(PER_FAMILY)] for k in range(FAMILIES)]
    archives = [f"arc{i}" for i in range(ARCHIVES)]
    formats = FormatRegistrar(registry, "bench")
    for family in families:
        for name in family:
            formats.add(Format(name, Kind.DATA, extensions=(name,)))
    for name in archives:
        formats.add(Format(name, Kind.ARCHIVE, extensions=(name,)))
    converters = ConverterRegistrar(registry, "bench")
    specs: list[ConverterSpec] = []
    for name in archives:  # a packer and an unpacker per archive format
        specs.append(_spec(f"arc.pack:*->{name}", ANY, name, 1.0, Cardinality.MANY_TO_ONE))
        specs.append(_spec(f"arc.unpack:{name}->*", name, ANY, 1.0, Cardinality.ONE_TO_MANY))
    while len(specs) < CONVERTERS:
        k = rng.randrange(FAMILIES)
        source = rng.choice(families[k])
        # 90 % inside the family, 10 % bridges to another family
        target = rng.choice(families[k] if rng.random() < 0.9 else families[rng.randrange(FAMILIES)])
        if source == target:
            continue
        roll = rng.random()
        card = (
            Cardinality.ONE_TO_MANY
            if roll < 0.05
            else Cardinality.MANY_TO_ONE
            if roll < 0.10
            else Cardinality.ONE_TO_ONE
        )
        specs.append(
            _spec(
                f"fam{k}.eng{len(specs) % 7}:{source}->{target}#{len(specs)}",
                source,
                target,
                rng.choice(COSTS),
                card,
            )
        )
    for spec in specs:
        converters.add(spec)
    return registry


def _spec(id: str, source: str, target: str, cost: float, card: Cardinality) -> ConverterSpec:
    return ConverterSpec(
        id=id, source=source, target=target, run="nowhere:never", cardinality=card, cost=cost
    )


def plain_dijkstra(registry: Registry) -> Callable[[str, str], tuple[float, list[str]] | None]:
    """What one would write by hand: formats as nodes, converters as weighted edges."""
    adjacency: dict[str, list[tuple[float, str, str]]] = {}
    for spec in registry.edges():
        adjacency.setdefault(spec.source, []).append((spec.cost, spec.target, spec.id))

    def route(source: str, target: str) -> tuple[float, list[str]] | None:
        best = {source: 0.0}
        parent: dict[str, tuple[str, str]] = {}
        heap = [(0.0, source)]
        while heap:
            cost, node = heapq.heappop(heap)
            if node == target:
                path = []
                while node != source:
                    node, converter = parent[node]
                    path.append(converter)
                return cost, path[::-1]
            if cost > best[node]:
                continue
            for step_cost, nxt, converter in adjacency.get(node, ()):
                new = cost + step_cost
                if new < best.get(nxt, float("inf")):
                    best[nxt] = new
                    parent[nxt] = (node, converter)
                    heapq.heappush(heap, (new, nxt))
        return None

    return route


def _time(fn: Callable[..., object], *args: object, **kwargs: object) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def _row(label: str, times: list[float]) -> list[str]:
    p90 = statistics.quantiles(times, n=10)[-1]
    return [label, str(len(times)), _ms(statistics.median(times)), _ms(p90), _ms(max(times))]


def run(pairs_count: int = 500, seed: int = 7) -> Path:
    """Time the router and the baseline on the same random pairs; write the report."""
    registry = build_registry(seed)
    router = Router(registry)
    baseline = plain_dijkstra(registry)
    rng = random.Random(seed + 1)
    plain = [f.name for f in registry.formats if f.kind is not Kind.ARCHIVE]
    pairs = [(s, t) for s, t in (rng.sample(plain, 2) for _ in range(pairs_count))]
    with_via = [(s, t, rng.choice(plain)) for s, t in pairs[: pairs_count // 5]]

    # Between plain formats, archives are dead ends (unpacking is only ever a first step) and
    # bundles change no cost, so both must find routes of the same cost.
    for source, target in pairs:
        plain_best = baseline(source, target)
        found = router.route(source, target)
        assert plain_best is not None and found.cost == plain_best[0], (source, target)

    router = Router(registry)  # a router remembers its answers: time searches on a fresh one
    router_times, baseline_times = [], []
    for source, target in pairs:  # interleaved, so noise hits both alike
        router_times.append(_time(router.route, source, target))
        baseline_times.append(_time(baseline, source, target))
    remembered_times = [_time(router.route, source, target) for source, target in pairs]
    via_times = [_time(router.route, s, t, via=[v]) for s, t, v in with_via]
    explain_times = [_time(Router(registry).route, s, t, alternatives=3) for s, t in pairs[:100]]
    rows = [
        _row("Router.route", router_times),
        _row("Router.route, the same pair again (remembered)", remembered_times),
        _row("Router.route via 1 waypoint", via_times),
        _row("Router.route + 3 alternatives (explain)", explain_times),
        _row("plain Dijkstra (baseline)", baseline_times),
    ]
    median = statistics.median(router_times)
    ratio = median / statistics.median(baseline_times)
    notes = [
        f"Graph: {len(registry.formats)} formats ({ARCHIVES} archives), {len(registry.converters)} "
        f"converters (seed {seed}); {pairs_count} random pairs of plain formats, every route checked "
        "against the baseline's cost.",
        "",
        f"Router median / baseline median: **{ratio:.1f}×**. Goal: router median < 1 ms: "
        f"**{'met' if median < 0.001 else 'missed'}**.",
        "",
        "The baseline is one state per format and nothing else: no waypoints, preferences, hop limit, "
        "archives, bundles or deterministic tie-breaks.",
    ]
    header = ["what", "runs", "median ms", "p90 ms", "max ms"]
    return write_report("router", "Router: route time on a synthetic graph", header, rows, notes)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", type=int, default=500, help="random source/target pairs")
    parser.add_argument("--seed", type=int, default=7, help="seed of the graph and the pairs")
    args = parser.parse_args(argv)
    run(args.pairs, args.seed)


if __name__ == "__main__":
    main()
