"""The engine: runs the stages of a conversion over stored artifacts.

Every step's outputs are stored, so any intermediate result can be fetched or
reused, and a failed run resumes from the failed step through the cache
(:mod:`~conversio.engine.caching`). A run follows its plan leg by leg
(:mod:`~conversio.engine.planning`): operations as one step, fused when they can be
(:mod:`~conversio.engine.fusion`); a conversion along its route, taking another when a
converter fails (:mod:`~conversio.engine.retry`), over lanes of files that reroutes split
(:mod:`~conversio.engine.lanes`). Each step's tasks run in the executor
(:mod:`~conversio.engine.execution`), the first ones possibly on files still arriving in
the store (:mod:`~conversio.engine.early`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from conversio.engine.caching import ResultCache
from conversio.engine.early import settle_unless_early
from conversio.engine.execution import Sniffer, StepRunner
from conversio.engine.executors import Executor
from conversio.engine.inputs import InputChecks
from conversio.engine.lanes import RouteRunner
from conversio.engine.planning import ConvertLeg, Leg, Plan, Planner, state
from conversio.engine.retry import Rerouting
from conversio.engine.stages import ConvertStage, Stage
from conversio.engine.state import Item, Run
from conversio.engine.steps import Call
from conversio.errors import ConversioError, InvalidRequest
from conversio.events import Event, EventHandler, EventKind
from conversio.ingest import settled
from conversio.limits import Limits
from conversio.registry import Registry
from conversio.routing import RoutePreferences, Router
from conversio.sniffing import ConfirmHook
from conversio.stores.base import Artifact, ArtifactStore


class Engine:
    """Runs stages with a router, a store and an executor."""

    def __init__(
        self,
        registry: Registry,
        store: ArtifactStore,
        executor: Executor,
        sniffer: Sniffer,
        *,
        limits: Limits | None = None,
        observers: Sequence[EventHandler] = (),
        cache: bool = True,
        confirm: ConfirmHook | None = None,
    ) -> None:
        self.registry = registry
        self.router = Router(registry)
        self.store = store
        self.executor = executor
        self.limits = limits or Limits()
        self.observers = list(observers)
        self.cache = ResultCache(store, cache)
        self.steps = StepRunner(store, executor, sniffer, self.limits, self.cache)
        self.checks = InputChecks(registry.formats, confirm, self.steps.local_file)
        self.planner = Planner(self.router)
        self.rerouting = Rerouting(registry, RouteRunner(self.router, self.steps, self.checks), self.checks)

    def plan(
        self,
        formats: Sequence[str],
        stages: Sequence[Stage],
        preferences: RoutePreferences | None = None,
        *,
        names: Sequence[str] = (),
    ) -> Plan:
        """What ``stages`` would do to files of ``formats`` (nothing runs); ``names``, the files'
        names, are said in a ``NO_ROUTE`` of the first stage."""
        subject = self.checks.taken(names, formats)
        return self.planner.plan(formats, stages, preferences or RoutePreferences(), subject)

    def run(
        self,
        inputs: Sequence[Item],
        stages: Sequence[Stage],
        *,
        plan: Plan | None = None,
        preferences: RoutePreferences | None = None,
        on_event: EventHandler | None = None,
        cancel: threading.Event | None = None,
        warnings: list[str] | None = None,
    ) -> list[Artifact]:
        """Run every stage in order; returns the final artifacts.

        ``plan`` (made for these stages) is followed where the files are what it expected.
        Inputs may be :class:`~conversio.ingest.Arriving` files still being stored: the
        first step may read them in place. Warnings a user should see (a converter failed
        and another route was taken) are appended to ``warnings``.
        """
        if not inputs:
            raise InvalidRequest("no input files were given")
        if not stages:
            raise InvalidRequest("nothing to do: give a target format or an operation")
        if plan is not None and plan.stages != tuple(stages):
            raise InvalidRequest("the plan was made for another conversion")
        items: Sequence[Item] = settle_unless_early(inputs, self.cache.enabled)
        emit = self._emitter(on_event)
        run = Run(preferences or RoutePreferences(), emit, cancel or threading.Event())
        if warnings is not None:
            run.warnings = warnings
        emit(Event(EventKind.PLAN_STARTED, items=len(inputs)))
        try:
            done = 0
            while done < len(stages):
                run.check()
                leg = self._leg(stages, done, items, plan, run)
                items = self._run_leg(leg, items, run)
                done += len(leg.stages)
            artifacts = [settled(a) for a in items]  # a stage with nothing to do passes inputs on
        except ConversioError as exc:
            emit(Event(EventKind.PLAN_FAILED, error=exc.to_dict(), message=exc.message))
            raise
        emit(Event(EventKind.PLAN_FINISHED, items=len(artifacts), artifacts=tuple(a.id for a in artifacts)))
        return artifacts

    def _leg(
        self, stages: Sequence[Stage], done: int, items: Sequence[Item], plan: Plan | None, run: Run
    ) -> Leg:
        """The leg that starts at ``stages[done]``: the plan's, if the files are what it expected."""
        stage = stages[done]
        if isinstance(stage, ConvertStage):
            self.checks.rendering(stage, items)
        fmt, bundle = state([item.format for item in items])
        planned = plan.leg_at(done, fmt, bundle, run.preferences) if plan is not None else None
        return planned or self.planner.leg(
            stages[done:], fmt, bundle, run.preferences, self.checks.subject(items, run)
        )

    def _run_leg(self, leg: Leg, items: Sequence[Item], run: Run) -> Sequence[Item]:
        if isinstance(leg, ConvertLeg):
            return self.rerouting.run(leg, items, run)
        return self.steps.run(leg.step, [items], run)[0]

    def _emitter(self, on_event: EventHandler | None) -> Callable[[Event], None]:
        """One function that passes an event to the observers and ``on_event``, one at a time."""
        handlers = [*self.observers, *([on_event] if on_event else [])]
        lock = threading.Lock()

        def emit(event: Event) -> None:
            with lock:
                for handler in handlers:
                    handler(event)

        return emit

    def run_converter(
        self,
        converter_id: str,
        inputs: Sequence[Artifact],
        options: Mapping[str, Any] | None = None,
        *,
        on_event: EventHandler | None = None,
    ) -> list[Artifact]:
        """Run one named converter on ``inputs``, bypassing the router."""
        spec = self.registry.converters.get(converter_id)
        if spec is None:
            raise InvalidRequest(f"unknown converter {converter_id!r}", converter=converter_id)
        if not inputs:
            raise InvalidRequest("no input files were given")
        fmt, bundle = state([a.format for a in inputs])
        call = Call.of(self.router.step(spec, fmt, bundle), options or {})
        run = Run(RoutePreferences(), self._emitter(on_event), threading.Event())
        return self.steps.run(call, [list(inputs)], run)[0]
