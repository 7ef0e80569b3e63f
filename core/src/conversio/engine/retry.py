"""A conversion stage, routed again without a converter that failed.

Another route is taken only after a converter's own failure (not a crash, which is run
again on the same route, nor a fault of the input, nor a failure the converter calls
``final``), only when it is no lossier, and always reported in the result's warnings.
``NO_TEXT_LAYER`` counts as such a failure: a text layer's reader cannot read a scan, OCR
can. When no other route exists, the error names the plugins that would add one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from conversio.engine.inputs import InputChecks
from conversio.engine.lanes import RouteRunner
from conversio.engine.planning import ConvertLeg
from conversio.engine.state import Item, Run, names
from conversio.engine.steps import converters_of
from conversio.errors import ConversioError, ConversionFailed, NoRoute
from conversio.registry import Registry
from conversio.routing import Route, RoutePreferences

#: Error codes after which another route is tried (the converter, not the input, failed).
RETRYABLE = frozenset({"CONVERSION_FAILED", "MISSING_DEPENDENCY", "NO_TEXT_LAYER"})
MAX_ATTEMPTS = 3


class Rerouting:
    """Runs a conversion stage's route, and others when its converters fail."""

    def __init__(self, registry: Registry, routes: RouteRunner, checks: InputChecks) -> None:
        self.registry = registry
        self.routes = routes
        self.checks = checks

    def run(self, leg: ConvertLeg, items: Sequence[Item], run: Run) -> list[Item]:
        """Run ``leg`` on ``items``; after a converter's failure, another route without it."""
        stage, route = leg.stage, leg.route
        errors: list[tuple[Route, ConversioError]] = []
        while True:
            if not route.steps:
                self.checks.passthrough(items, stage.target)
            try:
                done = self.routes.run(route, stage.options, items, run)
            except ConversioError as exc:
                errors.append((route, exc))
                converter = exc.details.get("converter")
                retry = (
                    exc.code in RETRYABLE
                    and converter
                    and not exc.details.get("crashed")
                    and not exc.details.get("final")
                )
                if not retry or len(errors) >= MAX_ATTEMPTS:
                    raise _all_failed(errors) from None
                # avoided from now on, in per-item reroutes and later stages too
                prefs = run.preferences
                run.preferences = attrs.evolve(prefs, avoid=(*prefs.avoid, str(converter)))
                route = self._another(leg, run.preferences, errors)
                continue
            if errors:
                steps = [self._step_of(e) for _, e in errors]
                failed = "; ".join(
                    f"{step} failed ({e.message})" for step, (_, e) in zip(steps, errors, strict=True)
                )
                instead = _by(route) if str(route) in steps else str(route)  # same formats: by what
                run.warnings.append(f"{names(items)}: {failed}; converted through {instead} instead")
            return done

    def _another(
        self, leg: ConvertLeg, preferences: RoutePreferences, errors: list[tuple[Route, ConversioError]]
    ) -> Route:
        """The next route to try: no lossier than the first one and taking the caller's options,
        else the stage failed."""
        stage = leg.stage
        try:
            route = self.routes.router.route(
                leg.route.source,
                stage.target,
                via=stage.via,
                bundle=leg.route.bundle_in,
                preferences=preferences,
            )
        except NoRoute as missing:
            install = list(missing.details.get("suggestions") or ())
            hint = f"install {' or '.join(install)} to convert it another way" if install else ""
            raise _all_failed(errors, hint, suggestions=install) from None
        if _lossy_steps(route) > _lossy_steps(errors[0][0]):
            raise _all_failed(errors) from None
        specs = converters_of(route)
        taken = {option.name for spec in specs for option in spec.options}
        refused = sorted(set(stage.options) - taken) if len(specs) == len(route.steps) else []
        if refused:  # a reroute's own steps check options as they run
            hint = f"{_by(route)} could convert it, without the option {', '.join(refused)}"
            raise _all_failed(errors, hint, refused=refused) from None
        return route

    def _step_of(self, error: ConversioError) -> str:
        """``pdf → png``: the step a converter's error came from, as a user reads it."""
        spec = self.registry.converters.get(str(error.details.get("converter")))
        return f"{spec.source} → {spec.target}" if spec else "a step"


def _lossy_steps(route: Route) -> int:
    return sum(1 for spec in converters_of(route) if spec.lossy)


def _by(route: Route) -> str:
    """``pdf → txt by ocr.ocrmypdf``: a route with the engines of its steps."""
    return f"{route} by {', '.join(spec.engine for spec in converters_of(route))}"


def _all_failed(errors: list[tuple[Route, ConversioError]], hint: str = "", **details: Any) -> ConversioError:
    """The error of a stage: the only one as it was, or the last one's message with every
    attempt listed in its details; a ``hint`` (what would convert it) ends the message."""
    if hint:
        last_route, last = errors[-1]
        errors = [
            *errors[:-1],
            (last_route, type(last)(f"{last.message}; {hint}", **{**last.details, **details})),
        ]
    if len(errors) == 1:
        return errors[0][1]
    attempts = [
        {
            "route": str(route),
            "converter": exc.details.get("converter"),
            "code": exc.code,
            "message": exc.message,
        }
        for route, exc in errors
    ]
    return ConversionFailed(
        f"{errors[-1][1].message} (after {len(errors)} attempts by different routes)", attempts=attempts
    )
