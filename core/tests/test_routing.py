"""The router: unit tests on small hand-made graphs, then properties on random graphs.

The property tests compare every route with an independent oracle: a
Bellman-Ford style search over every state path up to the number of states
(with positive costs the best route never repeats a state, so that bound
covers every candidate).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conversio.converters import Cardinality, ConverterSpec
from conversio.errors import ConversioError, InvalidRequest, NoRoute
from conversio.formats import ANY, Format, Kind
from conversio.plugins import PluginHost
from conversio.registry import ConverterRegistrar, FormatRegistrar, Registry
from conversio.routing import PREFER_FACTOR, REROUTE_COST, Route, RoutePreferences, Router

ONE, MANY, PACK = Cardinality.ONE_TO_ONE, Cardinality.ONE_TO_MANY, Cardinality.MANY_TO_ONE
FORMATS = ("fa", "fb", "fc", "fd", "fe")
ARCHIVES = ("za", "zb")


def edge(
    source: str,
    target: str,
    cost: float = 1.0,
    card: Cardinality = ONE,
    *,
    id: str | None = None,
    plugin: str = "test",
    operation: str | None = None,
) -> ConverterSpec:
    """A spec that is never run (routing only); ``plugin`` is set at registration."""
    return ConverterSpec(
        id=id or f"test.eng:{source}->{target}",
        source=source,
        target=target,
        run="nowhere:never",
        cardinality=card,
        cost=cost,
        operation=operation,
        plugin=plugin,
    )


def make_registry(
    specs: Iterable[ConverterSpec], formats: Sequence[str] = FORMATS, archives: Sequence[str] = ARCHIVES
) -> Registry:
    registry = Registry()
    for name in formats:
        FormatRegistrar(registry, "test").add(Format(name, Kind.DATA, extensions=(name,)))
    for name in archives:
        FormatRegistrar(registry, "test").add(Format(name, Kind.ARCHIVE, extensions=(name,)))
    for spec in specs:
        ConverterRegistrar(registry, spec.plugin).add(spec)
    return registry


def make_router(*specs: ConverterSpec) -> Router:
    return Router(make_registry(specs))


def ids(route: Route) -> list[str]:
    return [s.converter for s in route.steps]


# -- cheapest path and tie-breaks ----------------------------------------------------------------


def test_cheapest_path_wins_over_fewer_steps() -> None:
    router = make_router(edge("fa", "fb", 1), edge("fb", "fc", 1), edge("fa", "fc", 3))
    found = router.route("fa", "fc")
    assert ids(found) == ["test.eng:fa->fb", "test.eng:fb->fc"]
    assert found.cost == 2 and found.hops == 2
    assert found.formats == ["fa", "fb", "fc"]


def test_a_router_remembers_its_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    router = make_router(edge("fa", "fb", 1), edge("fb", "fc", 1), edge("fa", "fc", 3))
    searches = []
    real_search = router._search

    def counted(*args: Any) -> Route | None:
        searches.append(args[:3])
        return real_search(*args)

    monkeypatch.setattr(router, "_search", counted)
    first = router.route("fa", "fc")
    assert router.route("fa", "fc") == first and len(searches) == 1
    router.route("fa", "fc", preferences=RoutePreferences(avoid=("test.eng:fa->fb",)))
    router.route("fa", "fc", via=["fb"])
    assert len(searches) == 3  # other preferences or waypoints are other questions
    for _ in range(2):
        with pytest.raises(NoRoute):
            router.route("fc", "fa")
    assert len(searches) == 4  # "no route" is remembered too


def test_cheaper_direct_edge_wins() -> None:
    router = make_router(edge("fa", "fb", 1), edge("fb", "fc", 1), edge("fa", "fc", 1.5))
    assert ids(router.route("fa", "fc")) == ["test.eng:fa->fc"]


def test_equal_cost_prefers_fewer_steps() -> None:
    router = make_router(edge("fa", "fb", 1), edge("fb", "fc", 1), edge("fa", "fc", 2))
    found = router.route("fa", "fc")
    assert ids(found) == ["test.eng:fa->fc"] and found.cost == 2


@pytest.mark.parametrize("order", [1, -1])
def test_equal_cost_and_steps_prefer_smallest_converter_ids(order: int) -> None:
    specs = [
        edge("fa", "fb", id="zz.eng:fa->fb"),
        edge("fa", "fb", id="aa.eng:fa->fb"),
        edge("fb", "fc", id="mm.eng:fb->fc"),
        edge("fa", "fd", id="bb.eng:fa->fd"),
        edge("fd", "fc", id="aa.eng:fd->fc"),
    ]
    found = make_router(*specs[::order]).route("fa", "fc")
    # aa.eng:fa->fb < bb.eng:fa->fd, so the first step decides even though aa.eng:fd->fc < mm.eng:fb->fc
    assert ids(found) == ["aa.eng:fa->fb", "mm.eng:fb->fc"]


def test_same_format_is_an_empty_route() -> None:
    found = make_router(edge("fa", "fb")).route("fa", "fa")
    assert found.steps == () and found.cost == 0
    assert "nothing to do" in str(found)


def test_aliases_are_canonical() -> None:
    registry = make_registry([edge("fa", "fb")], formats=())
    FormatRegistrar(registry, "test").add(Format("fa", Kind.DATA, aliases=("alpha",)))
    FormatRegistrar(registry, "test").add(Format("fb", Kind.DATA, aliases=("beta",)))
    found = Router(registry).route("ALPHA", "beta")
    assert (found.source, found.target) == ("fa", "fb")


def test_unknown_format_is_unsupported() -> None:
    with pytest.raises(ConversioError) as info:
        make_router(edge("fa", "fb")).route("fa", "nope")
    assert info.value.code == "UNSUPPORTED_FORMAT"


# -- bundles ------------------------------------------------------------------------------------


def test_one_to_many_then_one_to_one_maps_over_the_bundle() -> None:
    found = make_router(edge("fa", "fb", card=MANY), edge("fb", "fc")).route("fa", "fc")
    split, each = found.steps
    assert (split.mapped, split.bundle_out) == (False, True)
    assert (each.mapped, each.bundle_out) == (True, True)
    assert found.bundle_out
    assert "(each)" in each.describe() and "(×pages)" in split.describe()


def test_many_to_one_consumes_the_bundle() -> None:
    found = make_router(edge("fa", "fb", card=MANY), edge("fb", "fc", card=PACK)).route("fa", "fc")
    pack = found.steps[1]
    assert (pack.mapped, pack.bundle_out) == (False, False)
    assert not found.bundle_out
    assert "(all → one)" in pack.describe()


def test_many_to_one_accepts_a_single_input() -> None:
    found = make_router(edge("fa", "fb", card=PACK)).route("fa", "fb")
    assert found.bundle_in is False
    assert (found.steps[0].mapped, found.steps[0].bundle_out) == (False, False)


def test_bundle_input_maps_one_to_one_and_one_to_many() -> None:
    router = make_router(edge("fa", "fb"), edge("fb", "fc", card=MANY))
    found = router.route("fa", "fc", bundle=True)
    assert [(s.mapped, s.bundle_out) for s in found.steps] == [(True, True), (True, True)]


# -- waypoints ------------------------------------------------------------------------------------


def via_router() -> Router:
    return make_router(
        edge("fa", "fb", 1),
        edge("fb", "fc", 1),
        edge("fa", "fd", 2),
        edge("fd", "fc", 2),
        edge("fd", "fb", 1),
        edge("fb", "fd", 1),
    )


def test_without_waypoint_the_cheap_path_is_taken() -> None:
    assert via_router().route("fa", "fc").formats == ["fa", "fb", "fc"]


def test_one_waypoint_is_visited() -> None:
    found = via_router().route("fa", "fc", via=["fd"])
    assert found.formats == ["fa", "fd", "fc"]
    assert found.via == ("fd",) and found.cost == 4


def test_two_waypoints_are_visited_in_order() -> None:
    router = via_router()
    assert router.route("fa", "fc", via=["fd", "fb"]).formats == ["fa", "fd", "fb", "fc"]
    assert router.route("fa", "fc", via=["fb", "fd"]).formats == ["fa", "fb", "fd", "fc"]


def test_waypoint_may_need_going_back() -> None:
    router = make_router(edge("fa", "fb"), edge("fb", "fc"), edge("fc", "fb"))
    # fc first, then back to fb, then fc again
    assert router.route("fa", "fc", via=["fc", "fb"]).formats == ["fa", "fb", "fc", "fb", "fc"]


def test_unreachable_waypoint_is_no_route() -> None:
    with pytest.raises(NoRoute) as info:
        via_router().route("fa", "fc", via=["fe"])
    assert info.value.details["via"] == ["fe"]
    assert "via fe" in info.value.message


# -- preferences and limits ---------------------------------------------------------------------


def pref_router() -> Router:
    return make_router(
        edge("fa", "fb", 1.0, id="cheap.one:fa->fb", plugin="cheap"),
        edge("fa", "fb", 1.5, id="dear.one:fa->fb", plugin="dear"),
        edge("fa", "fb", 1.8, id="dear.two:fa->fb", plugin="dear"),
    )


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ("dear.one:fa->fb", "dear.one:fa->fb"),  # by converter id
        ("dear.two", "dear.two:fa->fb"),  # by engine
        ("dear", "dear.one:fa->fb"),  # by plugin: both dear ones halve, the cheaper of them wins
        ("unknown", "cheap.one:fa->fb"),
    ],
)
def test_prefer(prefer: str, expected: str) -> None:
    found = pref_router().route("fa", "fb", preferences=RoutePreferences(prefer=(prefer,)))
    assert ids(found) == [expected]
    if expected != "cheap.one:fa->fb":
        assert found.cost == pytest.approx(pref_router().registry.converters[expected].cost * PREFER_FACTOR)


@pytest.mark.parametrize(
    ("avoid", "expected"),
    [
        (("cheap.one:fa->fb",), "dear.one:fa->fb"),
        (("cheap.one",), "dear.one:fa->fb"),
        (("cheap", "dear.one"), "dear.two:fa->fb"),
    ],
)
def test_avoid(avoid: tuple[str, ...], expected: str) -> None:
    found = pref_router().route("fa", "fb", preferences=RoutePreferences(avoid=avoid))
    assert ids(found) == [expected]


def test_avoiding_everything_is_no_route() -> None:
    with pytest.raises(NoRoute):
        pref_router().route("fa", "fb", preferences=RoutePreferences(avoid=("cheap", "dear")))


def test_max_hops_trades_cost_for_fewer_steps() -> None:
    router = make_router(edge("fa", "fb"), edge("fb", "fc"), edge("fc", "fd"), edge("fa", "fd", 10))
    assert router.route("fa", "fd").hops == 3
    assert router.route("fa", "fd", preferences=RoutePreferences(max_hops=3)).hops == 3
    found = router.route("fa", "fd", preferences=RoutePreferences(max_hops=2))
    assert ids(found) == ["test.eng:fa->fd"]


def test_max_hops_too_small_is_no_route() -> None:
    router = make_router(edge("fa", "fb"), edge("fb", "fc"))
    with pytest.raises(NoRoute) as info:
        router.route("fa", "fc", preferences=RoutePreferences(max_hops=1))
    assert "within 1 steps" in info.value.message


def test_operations_are_never_used_by_the_router() -> None:
    # A (strange) operation that would be the cheapest way from fa to fc.
    shortcut = edge("fa", "fc", 0.1, id="test.op:shortcut(fa)", operation="shortcut")
    router = make_router(shortcut, edge("fa", "fb"), edge("fb", "fc"))
    assert ids(router.route("fa", "fc")) == ["test.eng:fa->fb", "test.eng:fb->fc"]
    with pytest.raises(NoRoute):
        make_router(shortcut).route("fa", "fc")
    assert shortcut.id not in {s.id for s in router.registry.edges()}


def test_a_terminal_converter_only_ends_a_route() -> None:
    terminal = attrs.evolve(edge("fa", "fb"), terminal=True)
    router = make_router(terminal, edge("fb", "fc"), edge("fd", "fa"))
    assert ids(router.route("fa", "fb")) == [terminal.id]
    with pytest.raises(NoRoute):
        router.route("fa", "fc")  # fa -> fb would have to be followed by fb -> fc
    with pytest.raises(NoRoute):
        router.route("fa", "fc", via=["fb"])
    assert router.reachable("fa") == {"fb"}  # reached, never left
    after_a_waypoint = router.route("fd", "fb", via=["fa"])
    assert ids(after_a_waypoint) == ["test.eng:fd->fa", terminal.id]


def test_operation_step_lookup() -> None:
    router = make_router(edge("fa", "fa", id="test.op:merge(fa)", operation="merge", card=PACK))
    step = router.operation("merge", "fa", True)
    assert step.converter == "test.op:merge(fa)" and not step.bundle_out
    with pytest.raises(InvalidRequest) as unknown:
        router.operation("explode", "fa", False)
    assert unknown.value.details["known"] == ["merge"]
    with pytest.raises(NoRoute) as wrong_format:
        router.operation("merge", "fb", True)
    assert wrong_format.value.details["applies_to"] == ["fa"]


# -- wildcards: archives and mixed inputs ----------------------------------------------------------

UNPACK_ZA = edge("za", ANY, card=MANY, id="test.arc:za->*")
PACK_ZA = edge(ANY, "za", card=PACK, id="test.arc:*->za")
PACK_ZB = edge(ANY, "zb", card=PACK, id="test.arc:*->zb")


def test_unpacker_then_reroute() -> None:
    router = make_router(UNPACK_ZA, edge("fa", "fb"))
    found = router.route("za", "fb")
    assert ids(found) == ["test.arc:za->*", "reroute"]
    reroute = found.steps[1]
    assert reroute.is_reroute and reroute.source == ANY and reroute.target == "fb"
    assert reroute.mapped and reroute.bundle_out and reroute.cost == REROUTE_COST
    assert str(found) == "za → members (×items) → fb"


def test_unpacking_is_only_a_first_step() -> None:
    router = make_router(UNPACK_ZA, PACK_ZA, edge("fa", "fb"))
    with pytest.raises(NoRoute):
        router.route("za", "fb", unpack=False)
    # packing fa into za and unpacking it again is no way to reach fb
    assert ids(router.route("fa", "fb")) == ["test.eng:fa->fb"]
    with pytest.raises(NoRoute):
        make_router(UNPACK_ZA, PACK_ZA, edge("fb", "fc")).route("fa", "fc")


def test_reroute_goes_to_the_next_waypoint_first() -> None:
    router = make_router(UNPACK_ZA, edge("fb", "fc"))
    found = router.route("za", "fc", via=["fb"])
    assert ids(found) == ["test.arc:za->*", "reroute", "test.eng:fb->fc"]
    assert found.steps[1].target == "fb"
    assert found.steps[2].mapped


def test_packer_applies_to_plain_formats_and_members_not_archives() -> None:
    router = make_router(PACK_ZA, edge("fa", "fb"))
    found = router.route("fa", "za")
    assert ids(found) == ["test.arc:*->za"] and found.steps[0].source == "fa"
    with pytest.raises(NoRoute):
        router.route("zb", "za")  # an archive is not packed into another as it is
    found = make_router(PACK_ZA, edge("zb", ANY, card=MANY, id="test.arc:zb->*")).route("zb", "za")
    assert ids(found) == ["test.arc:zb->*", "test.arc:*->za"]


def test_archive_to_archive_via_format_maps_members() -> None:
    router = make_router(UNPACK_ZA, PACK_ZB, edge("fa", "fb"))
    found = router.route("za", "zb", via=["fb"])
    assert ids(found) == ["test.arc:za->*", "reroute", "test.arc:*->zb"]
    assert found.formats == ["za", ANY, "fb", "zb"]


def test_mixed_inputs_start_as_a_bundle_of_members() -> None:
    router = make_router(PACK_ZA, edge("fa", "fc"), edge("fb", "fc"))
    to_archive = router.route(ANY, "za")
    assert to_archive.bundle_in and ids(to_archive) == ["test.arc:*->za"]
    to_format = router.route(ANY, "fc")
    assert ids(to_format) == ["reroute"] and to_format.steps[0].target == "fc"


# -- explain and NO_ROUTE -----------------------------------------------------------------------


def test_explain_lists_steps_and_alternatives_with_costs() -> None:
    router = make_router(
        edge("fa", "fb", 1, id="one.eng:fa->fb"),
        edge("fb", "fc", 1.5, id="one.eng:fb->fc"),
        edge("fa", "fc", 4, id="two.eng:fa->fc"),
        edge("fa", "fd", 1, id="three.eng:fa->fd"),
        edge("fd", "fc", 2, id="three.eng:fd->fc"),
    )
    found = router.route("fa", "fc", alternatives=3)
    text = found.explain()
    lines = text.splitlines()
    assert lines[0] == "route fa → fc"
    assert lines[1] == "chosen: fa → fb → fc  (cost 2.5, 2 steps)"
    assert lines[2].startswith("  1. fa → fb  [one.eng:fa->fb]  cost 1")
    assert lines[3].startswith("  2. fb → fc  [one.eng:fb->fc]  cost 1.5")
    alt_lines = lines[lines.index("alternatives:") + 1 :]
    assert alt_lines == [
        "  - fa → fd → fc  (cost 3) [three.eng:fa->fd, three.eng:fd->fc]",
        "  - fa → fc  (cost 4) [two.eng:fa->fc]",
    ]
    assert [a.cost for a in found.alternatives] == [3, 4]
    described = found.to_dict()["alternatives"]
    assert isinstance(described, list) and described[0]["cost"] == 3


def test_explain_without_alternatives() -> None:
    text = make_router(edge("fa", "fb")).route("fa", "fb", alternatives=3).explain()
    assert text.splitlines()[-1] == "alternatives: none"


def builtin_host(*plugins: tuple[object, str, str]) -> PluginHost:
    host = PluginHost(autoload=False)
    for plugin, name, distribution in plugins:
        host.register(plugin, name, distribution=distribution)
    return host


def test_no_route_suggests_distributions_not_installed() -> None:
    host = builtin_host()
    with pytest.raises(NoRoute) as info:
        Router(host.registry).route("png", "jpg")
    assert info.value.details["suggestions"] == ["conversio-image"]
    assert "install conversio-image" in info.value.message
    assert host.registry.suggest("png", "jpg") == ["conversio-image"]


def test_no_route_suggests_per_leg_of_the_waypoints() -> None:
    with pytest.raises(NoRoute) as info:
        Router(builtin_host().registry).route("png", "zip", via=["pdf"])
    assert info.value.details["suggestions"] == ["conversio-archive", "conversio-pdf"]


def test_no_route_does_not_suggest_an_installed_distribution() -> None:
    class Empty:
        pass

    host = builtin_host((Empty(), "image", "conversio-image"))
    with pytest.raises(NoRoute) as info:
        Router(host.registry).route("png", "jpg")
    assert info.value.details["suggestions"] == []
    assert "install" not in info.value.message


def test_no_route_names_a_plugins_suggestion_for_its_own_format() -> None:
    """A plugin's text format with a missing edge: the suggestion it registered is named."""
    from conversio.hookspecs import hookimpl

    class Yaml:
        @hookimpl
        def register_formats(self, formats: FormatRegistrar) -> None:
            formats.add(Format("yaml", Kind.TEXT, "YAML", extensions=("yaml", "yml")))

        @hookimpl
        def register_converters(self, converters: ConverterRegistrar) -> None:
            converters.suggest("yaml", ["json", "csv"], "conversio-yaml-tools")

    host = builtin_host((Yaml(), "yaml", "conversio-yaml"))
    with pytest.raises(NoRoute) as info:
        Router(host.registry).route("yaml", "json")
    assert info.value.message == "no route from yaml to json; install conversio-yaml-tools to add it"
    assert info.value.details["suggestions"] == ["conversio-yaml-tools"]


def test_no_route_lists_what_is_reachable() -> None:
    router = make_router(edge("fa", "fb"), edge("fb", "fc"), edge("fd", "fe"))
    with pytest.raises(NoRoute) as info:
        router.route("fa", "fe")
    assert info.value.details["reachable"] == ["fb", "fc"]
    assert router.sources_for("fc") == ["fa", "fb"]


# -- properties on random graphs --------------------------------------------------------------------

COSTS = (0.5, 1.0, 1.5, 2.0, 3.0)  # dyadic: sums are exact, so ties are real ties
_State = tuple[str, bool, int]
_Key = tuple[float, int, tuple[str, ...]]


def _advance(via: Sequence[str], fmt: str, index: int) -> int:
    while index < len(via) and via[index] == fmt:
        index += 1
    return index


def _matches(spec: ConverterSpec, names: Sequence[str]) -> bool:
    return bool({spec.id, spec.id.split(":")[0], spec.plugin} & set(names))


def oracle_moves(
    specs: Sequence[ConverterSpec],
    archives: set[str],
    state: _State,
    via: Sequence[str],
    target: str,
    prefs: RoutePreferences,
    first: bool = True,
    unpack: bool = True,
) -> list[tuple[float, str, _State]]:
    """Every step from ``state``, written from the rules (not from the router's code)."""
    fmt, bundle, index = state
    moves = []
    for spec in specs:
        if spec.operation or _matches(spec, prefs.avoid):
            continue
        if spec.target == ANY and not (first and unpack):
            continue  # unpacking is only ever the first step
        if not (spec.source == fmt or (spec.source == ANY and fmt not in archives and fmt != ANY)):
            continue
        out = bundle if spec.cardinality is ONE else spec.cardinality is MANY
        cost = spec.cost * (PREFER_FACTOR if _matches(spec, prefs.prefer) else 1.0)
        moves.append((cost, spec.id, (spec.target, out, _advance(via, spec.target, index))))
    if fmt == ANY:
        goal = via[index] if index < len(via) else target
        moves.append((REROUTE_COST, "reroute", (goal, True, _advance(via, goal, index))))
    return moves


def oracle(
    specs: Sequence[ConverterSpec],
    formats: Sequence[str],
    archives: set[str],
    source: str,
    target: str,
    via: Sequence[str],
    bundle: bool,
    prefs: RoutePreferences,
    unpack: bool = True,
) -> _Key | None:
    """The best (cost, steps, converter ids) over every path of at most as many steps as there
    are states, computed length by length."""
    bundle = bundle or source == ANY
    start: _State = (source, bundle, _advance(via, source, 0))
    states = (len(formats) + 1) * 2 * (len(via) + 1)
    limit = states if prefs.max_hops is None else min(states, prefs.max_hops)
    best: _Key | None = (0.0, 0, ()) if start[0] == target and start[2] == len(via) else None
    layer: dict[_State, tuple[float, tuple[str, ...]]] = {start: (0.0, ())}
    for length in range(1, limit + 1):
        nxt: dict[_State, tuple[float, tuple[str, ...]]] = {}
        for state, (cost, path) in layer.items():
            moves = oracle_moves(specs, archives, state, via, target, prefs, length == 1, unpack)
            for step_cost, step_id, new_state in moves:
                candidate = (cost + step_cost, (*path, step_id))
                if new_state not in nxt or candidate < nxt[new_state]:
                    nxt[new_state] = candidate
        for state, (cost, path) in nxt.items():
            if state[0] == target and state[2] == len(via):
                key = (cost, length, path)
                if best is None or key < best:
                    best = key
        layer = nxt
    return best


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[list[str], set[str], list[ConverterSpec]]:
    count = draw(st.integers(3, 8))
    formats = [f"f{i}" for i in range(count)]
    archives = set(draw(st.sets(st.sampled_from(formats), max_size=2)))
    ends = st.sampled_from([*formats, ANY])
    raw = draw(
        st.lists(
            st.tuples(
                ends,
                ends,
                st.sampled_from(COSTS),
                st.sampled_from((ONE, ONE, MANY, PACK)),
                st.sampled_from(("p1", "p2")),
                st.integers(0, 2),
                st.integers(0, 9),
            ),
            min_size=2 * count,
            max_size=4 * count + 4,
        )
    )
    specs = []
    for i, (source, target, cost, card, plugin, engine, roll) in enumerate(raw):
        if source == ANY and target == ANY:
            continue
        if target == ANY:
            card = MANY  # unpackers: one archive, many members
        if source == ANY:
            card = PACK  # packers: many files, one archive
        specs.append(
            ConverterSpec(
                id=f"{plugin}.e{engine}:{source}->{target}#{i}",
                source=source,
                target=target,
                run="nowhere:never",
                cardinality=card,
                cost=cost,
                plugin=plugin,
                operation="op" if roll == 0 else None,
            )
        )
    return formats, archives, specs


@st.composite
def route_queries(draw: st.DrawFn) -> tuple[list[str], set[str], list[ConverterSpec], dict[str, Any]]:
    formats, archives, specs = draw(random_graphs())
    names = [s.id for s in specs] + [s.id.split(":")[0] for s in specs] + ["p1", "p2"]
    steer = st.lists(st.sampled_from(names), max_size=2) if specs else st.just([])
    source = draw(st.sampled_from([*formats, ANY]))
    query = {
        "source": source,
        "target": draw(st.sampled_from(formats).filter(lambda f: f != source)),
        "via": draw(st.lists(st.sampled_from(formats), max_size=2)),
        "bundle": draw(st.booleans()),
        "unpack": draw(st.booleans()),
        "prefs": RoutePreferences(
            prefer=tuple(draw(steer)),
            avoid=tuple(draw(steer)) if draw(st.booleans()) else (),
            max_hops=draw(st.sampled_from((None, None, None, 1, 2, 3, 5))),
        ),
    }
    return formats, archives, specs, query


def check_valid(
    route: Route, specs_by_id: dict[str, ConverterSpec], archives: set[str], query: dict[str, Any]
) -> None:
    prefs: RoutePreferences = query["prefs"]
    via: list[str] = query["via"]
    assert route.source == query["source"] and route.target == query["target"]
    bundle = query["bundle"] or query["source"] == ANY
    assert route.bundle_in == bundle
    fmt, index = route.source, _advance(via, route.source, 0)
    total = 0.0
    for number, step in enumerate(route.steps):
        if step.target == ANY:
            assert number == 0 and query.get("unpack", True), "unpacking after the first step"
        assert step.source == fmt
        if step.spec is None:
            assert fmt == ANY and step.target == (via[index] if index < len(via) else route.target)
            assert step.cost == REROUTE_COST and step.mapped and step.bundle_out
        else:
            spec = specs_by_id[step.spec.id]
            assert spec.operation is None
            assert not _matches(spec, prefs.avoid)
            assert spec.source == fmt or (spec.source == ANY and fmt != ANY and fmt not in archives)
            assert step.target == spec.target
            factor = PREFER_FACTOR if _matches(spec, prefs.prefer) else 1.0
            assert step.cost == spec.cost * factor
            assert step.mapped == (bundle and spec.cardinality is not PACK)
            expected = bundle if spec.cardinality is ONE else spec.cardinality is MANY
            assert step.bundle_out == expected
        bundle = step.bundle_out
        fmt = step.target
        index = _advance(via, fmt, index)
        total += step.cost
    assert fmt == route.target
    assert index == len(via), "waypoints not visited in order"
    assert route.bundle_out == bundle
    assert route.cost == total
    if prefs.max_hops is not None:
        assert route.hops <= prefs.max_hops


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route_queries())
def test_routes_are_valid_and_optimal(
    case: tuple[list[str], set[str], list[ConverterSpec], dict[str, Any]],
) -> None:
    formats, archives, specs, query = case
    router = Router(
        make_registry(specs, formats=[f for f in formats if f not in archives], archives=sorted(archives))
    )
    expected = oracle(specs, formats, archives, **query)
    try:
        found = router.route(
            query["source"],
            query["target"],
            via=query["via"],
            bundle=query["bundle"],
            preferences=query["prefs"],
            unpack=query["unpack"],
        )
    except NoRoute:
        event("no route")
        assert expected is None, f"the router found nothing, but {expected} exists"
        return
    event(f"{min(found.hops, 3)}+ steps" if found.hops >= 3 else f"{found.hops} steps")
    assert expected is not None, f"the router found {ids(found)}, which the oracle says is impossible"
    check_valid(found, {s.id: s for s in specs}, archives, query)
    assert (found.cost, found.hops, tuple(ids(found))) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), st.data())
def test_alternatives_are_valid_distinct_and_not_cheaper(
    graph: tuple[list[str], set[str], list[ConverterSpec]], data: st.DataObject
) -> None:
    formats, archives, specs = graph
    router = Router(
        make_registry(specs, formats=[f for f in formats if f not in archives], archives=sorted(archives))
    )
    source, target = data.draw(st.sampled_from(formats)), data.draw(st.sampled_from(formats))
    try:
        found = router.route(source, target, alternatives=3)
    except NoRoute:
        return
    query = {"source": source, "target": target, "via": [], "bundle": False, "prefs": RoutePreferences()}
    seen = {tuple(ids(found))}
    for alt in found.alternatives:
        check_valid(alt, {s.id: s for s in specs}, archives, query)
        assert (alt.cost, alt.hops) >= (found.cost, found.hops)
        assert tuple(ids(alt)) not in seen
        seen.add(tuple(ids(alt)))
    keys = [(a.cost, a.hops) for a in found.alternatives]
    assert keys == sorted(keys)


def test_oracle_agrees_on_a_known_case() -> None:
    """The oracle itself can tell a good route from a bad one."""
    specs = [edge("fa", "fb", 1), edge("fb", "fc", 1), edge("fa", "fc", 3)]
    best = oracle(specs, ["fa", "fb", "fc"], set(), "fa", "fc", [], False, RoutePreferences())
    assert best == (2.0, 2, ("test.eng:fa->fb", "test.eng:fb->fc"))
    assert oracle(specs, ["fa", "fb", "fc"], set(), "fc", "fa", [], False, RoutePreferences()) is None
    assert list(
        itertools.islice(oracle_moves(specs, set(), ("fa", False, 0), [], "fc", RoutePreferences()), 5)
    )
