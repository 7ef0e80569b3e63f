"""Planning: what each stage of a conversion does, from the formats it holds, before anything runs.

A conversion stage takes the router's route; consecutive operations that can run in one
call are one leg of one step (:mod:`conversio.engine.fusion`). A run follows the legs of
a :class:`Plan` made before it, and plans a leg anew only where the files it holds are
not what the plan expected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import attrs

from conversio.engine.fusion import Fused, fuses
from conversio.engine.stages import ConvertStage, OperationStage, Stage
from conversio.engine.steps import Call
from conversio.errors import ConversioError, NoRoute
from conversio.formats import ANY
from conversio.routing import Route, RoutePreferences, Router, RouteStep


@attrs.frozen
class ConvertLeg:
    """A conversion stage and the route it takes."""

    stage: ConvertStage
    route: Route

    @property
    def stages(self) -> tuple[Stage, ...]:
        return (self.stage,)

    @property
    def source(self) -> str:
        return self.route.source

    @property
    def bundle_in(self) -> bool:
        return self.route.bundle_in

    @property
    def target(self) -> str:
        return self.route.target

    @property
    def bundle_out(self) -> bool:
        return self.route.bundle_out

    @property
    def steps(self) -> tuple[RouteStep, ...]:
        return self.route.steps


@attrs.frozen
class OperationLeg:
    """Operations and the one step that applies them (:class:`Fused` when several)."""

    stages: tuple[Stage, ...]
    step: Call | Fused
    bundle_in: bool

    @property
    def source(self) -> str:
        return self.step.source

    @property
    def target(self) -> str:
        return self.step.target

    @property
    def bundle_out(self) -> bool:
        return self.step.bundle_out

    @property
    def steps(self) -> tuple[Call | Fused]:
        return (self.step,)


Leg = ConvertLeg | OperationLeg


@attrs.frozen
class Plan:
    """What a conversion will do, leg by leg: each leg's ``source``, ``target`` and ``steps``
    (each with ``converter`` and ``describe()``). Nothing has run; ``Conversion.run(plan=...)``
    follows it."""

    legs: tuple[Leg, ...]
    preferences: RoutePreferences

    def __iter__(self) -> Iterator[Leg]:
        return iter(self.legs)

    def __len__(self) -> int:
        return len(self.legs)

    @property
    def stages(self) -> tuple[Stage, ...]:
        return tuple(stage for leg in self.legs for stage in leg.stages)

    @property
    def steps(self) -> tuple[RouteStep | Call | Fused, ...]:
        """Every step that runs, in order (a reroute counts as one: it is planned per file when it runs)."""
        return tuple(step for leg in self.legs for step in leg.steps)

    def leg_at(self, done: int, source: str, bundle: bool, preferences: RoutePreferences) -> Leg | None:
        """The leg that starts after ``done`` stages, if the run holds what it was planned for."""
        start = 0
        for leg in self.legs:
            if start == done:
                fits = (leg.source, leg.bundle_in) == (source, bundle) and preferences == self.preferences
                return leg if fits else None
            start += len(leg.stages)
        return None


def state(formats: Sequence[str]) -> tuple[str, bool]:
    """Files of ``formats`` as the router sees them: one format (``*`` for several), and whether a bundle."""
    if len(set(formats)) == 1:
        return formats[0], len(formats) > 1
    return ANY, True


class Planner:
    """Plans legs with a router."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def plan(
        self, formats: Sequence[str], stages: Sequence[Stage], preferences: RoutePreferences, subject: str
    ) -> Plan:
        """The legs ``stages`` take for files of ``formats``; ``subject`` names the files in a
        ``NO_ROUTE`` of the first leg."""
        fmt, bundle = state(formats)
        legs: list[Leg] = []
        remaining = tuple(stages)
        while remaining:
            leg = self.leg(remaining, fmt, bundle, preferences, subject if not legs else "")
            legs.append(leg)
            remaining = remaining[len(leg.stages) :]
            fmt, bundle = leg.target, leg.bundle_out
        return Plan(tuple(legs), preferences)

    def leg(
        self, stages: Sequence[Stage], fmt: str, bundle: bool, preferences: RoutePreferences, subject: str
    ) -> Leg:
        """The leg of ``stages[0]`` from files of ``fmt`` (a bundle or not), with the operations
        that fuse to it; ``subject`` (if any) names the files in a ``NO_ROUTE``."""
        stage = stages[0]
        if isinstance(stage, OperationStage):
            return self._operations(stage, stages[1:], fmt, bundle)
        try:
            route = self.router.route(
                fmt, stage.target, via=stage.via, bundle=bundle, preferences=preferences
            )
        except NoRoute as exc:
            if not subject:
                raise
            raise NoRoute(f"{subject}: {exc.message}", **exc.details) from None
        return ConvertLeg(stage, route)

    def _operations(
        self, stage: OperationStage, following: Sequence[Stage], fmt: str, bundle: bool
    ) -> OperationLeg:
        """The operation ``stage``, fused with those ``following`` it when they can be.

        Fusing is only an optimisation: an operation that cannot be planned here ends the
        group and reports its error when its turn comes.
        """
        call = Call.of(self.router.operation(stage.name, fmt, bundle), stage.options)
        group = [call]
        for then in following:
            if not isinstance(then, OperationStage):
                break
            try:
                fused = Call.of(self.router.operation(then.name, call.target, call.bundle_out), then.options)
            except ConversioError:
                break
            if not fuses(call, fused):
                break
            group.append(fused)
            call = fused
        step = Fused(tuple(group)) if len(group) > 1 else group[0]
        return OperationLeg((stage, *following[: len(group) - 1]), step, bundle)
