"""A route over lanes of files: its steps in lock-step, and reroutes that route each file on its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conversio.engine.execution import StepRunner
from conversio.engine.inputs import InputChecks
from conversio.engine.state import Item, Run
from conversio.engine.steps import Call, Reroute, check_declared, converters_of, declared, route_steps
from conversio.errors import NoRoute
from conversio.formats import ANY
from conversio.routing import Route, Router


class RouteRunner:
    """Runs routes on files, one lane at a time or all together."""

    def __init__(self, router: Router, steps: StepRunner, checks: InputChecks) -> None:
        self.router = router
        self.steps = steps
        self.checks = checks

    def run(self, route: Route, options: Mapping[str, Any], items: Sequence[Item], run: Run) -> list[Item]:
        """Run ``route`` on ``items`` together; a route that unpacks archives runs each archive
        as a lane of its own, so that ``a.zip b.zip → tar.gz`` repacks each (``a.tar.gz``,
        ``b.tar.gz``) instead of pouring both into one."""
        steps = route_steps(route, options)
        unpacks = bool(steps) and isinstance(steps[0], Call) and steps[0].makes == ANY
        lanes = [[item] for item in items] if unpacks else [items]
        return [item for lane in self._lanes(steps, lanes, run) for item in lane]

    def _lanes(
        self, steps: Sequence[Call | Reroute], lanes: Sequence[Sequence[Item]], run: Run
    ) -> Sequence[Sequence[Item]]:
        """Run ``steps`` on each lane (a list of files) independently, in lock-step.

        A stage's route runs on one lane holding all its files; a reroute runs
        one lane per file, so every file is converted on its own while each
        step still maps over all of them at once.
        """
        for step in steps:
            run.check()
            if isinstance(step, Reroute):
                lanes = [self._reroute(step, lane, run) for lane in lanes]
            else:
                lanes = self.steps.run(step, lanes, run)
        return lanes

    def _reroute(self, reroute: Reroute, items: Sequence[Item], run: Run) -> list[Item]:
        """Route each item on its own, from its sniffed format to the reroute's target; order is kept.

        Items of one format share a route and run together; a nested archive
        is not unpacked again (``unpack=False``).
        """
        target = reroute.target
        routes: dict[str, Route] = {}
        for item in items:
            if item.format not in routes:
                try:
                    routes[item.format] = self.router.route(
                        item.format, target, preferences=run.preferences, unpack=False
                    )
                except NoRoute as exc:
                    raise NoRoute(
                        f"{self.checks.subject([item], run)}: {exc.message}",
                        **{**exc.details, "file": item.name},
                    ) from None
        check_declared(reroute.options, [spec for route in routes.values() for spec in converters_of(route)])
        results: dict[int, Sequence[Item]] = {}
        for fmt, route in routes.items():
            positions = [i for i, item in enumerate(items) if item.format == fmt]
            if not route.steps:
                self.checks.passthrough([items[i] for i in positions], target)
            steps = route_steps(route, declared(reroute.options, converters_of(route)))
            lanes = self._lanes(steps, [[items[i]] for i in positions], run)
            results.update(zip(positions, lanes, strict=True))
        return [a for i in range(len(items)) for a in results[i]]
