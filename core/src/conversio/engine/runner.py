"""The engine: runs the stages of a conversion over stored artifacts.

Every step's outputs are stored, so any intermediate result can be fetched or
reused, and a failed run resumes from the failed step through the cache
(keyed by input hashes, converter id and version, and options). Consecutive
operations a plugin declares fusable (:attr:`~conversio.converters.ConverterSpec.fuse`)
are one step: a PDF merged then encrypted is opened and saved once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import attrs

from conversio._typing import str_tuple
from conversio.converters import Cardinality, InputFile
from conversio.engine.executors import CancelFlag, Executor
from conversio.engine.hashing import OutputHasher
from conversio.engine.incoming import Incoming, settled
from conversio.engine.task import Task
from conversio.errors import (
    Cancelled,
    ConversioError,
    ConversionFailed,
    FormatMismatch,
    InvalidRequest,
    NoRoute,
    UnsupportedFormat,
    listed,
)
from conversio.events import Event, EventHandler, EventKind
from conversio.formats import ANY, Kind
from conversio.limits import Limits
from conversio.options import OptionsSchema, unknown_options
from conversio.registry import Registry
from conversio.routing import Route, RoutePreferences, Router, RouteStep
from conversio.sniffing import ConfirmHook, claimed_format
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.space import nearly_full, out_of_space

T = TypeVar("T")
R = TypeVar("R")

#: Error codes after which another route is tried (the converter, not the input, failed).
RETRYABLE = frozenset({"CONVERSION_FAILED", "MISSING_DEPENDENCY"})
MAX_ATTEMPTS = 3
#: Error codes that blame the input or its converter; on a full disk, the disk is to blame.
BLAMES_INPUT = frozenset({"CONVERSION_FAILED", "CORRUPT_FILE"})


@attrs.frozen
class ConvertStage:
    """Convert to ``target`` (through ``via`` waypoints), routed automatically."""

    target: str
    via: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    options: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class OperationStage:
    """Apply the same-format operation ``name`` (merge, resize, ...)."""

    name: str
    options: Mapping[str, Any] = attrs.field(factory=dict)


Stage = ConvertStage | OperationStage
#: What a stage works on: stored artifacts, and before the first step, callers' files on their way in.
Item = Artifact | Incoming
Sniffer = Callable[[Path, str], str]
#: Kinds a text file is rendered into only when the user asks (a ``via``, or a name that says text).
RENDERED_FROM_TEXT = frozenset({Kind.IMAGE, Kind.AUDIO, Kind.VIDEO})


@attrs.frozen
class _Place:
    """Where a task sits in a run: its step, and which of the step's items it is."""

    index: int
    item: int
    items: int

    def event(self, kind: EventKind, converter: str, fraction: float, **fields: Any) -> Event:
        return Event(kind, self.index, converter, self.item, self.items, fraction, **fields)


@attrs.frozen
class _Either:
    """A cancel flag that is set when either of two events is."""

    first: threading.Event
    second: threading.Event

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


@attrs.define
class _Run:
    """The state of one run: its events, cancellation and step counter."""

    preferences: RoutePreferences
    emit: Callable[[Event], None]
    cancel: threading.Event
    steps: itertools.count[int] = attrs.field(factory=itertools.count)
    warnings: list[str] = attrs.field(factory=list)
    #: the name of the user's file each artifact made in this run descends from (by id)
    origins: dict[str, str] = attrs.field(factory=dict)

    def origin(self, item: Item) -> str:
        """The user's file ``item`` was made from: a name seen in this run, or its own."""
        return (self.origins.get(item.id) if isinstance(item, Artifact) else None) or item.name

    def descend(self, inputs: Sequence[Item], outputs: Sequence[Artifact]) -> None:
        """Record that ``outputs`` were made from ``inputs``: of their common origin, if they have one."""
        origins = {self.origin(item) for item in inputs}
        if len(origins) == 1:
            origin = origins.pop()
            self.origins.update((a.id, origin) for a in outputs)

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the conversion was cancelled")


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
        self.sniffer = sniffer
        self.confirm = confirm
        self.limits = limits or Limits()
        self.observers = list(observers)
        self.cache = cache

    # -- public ------------------------------------------------------------
    def run(
        self,
        inputs: Sequence[Item],
        stages: Sequence[Stage],
        *,
        preferences: RoutePreferences | None = None,
        on_event: EventHandler | None = None,
        cancel: threading.Event | None = None,
        warnings: list[str] | None = None,
    ) -> list[Artifact]:
        """Run every stage in order; returns the final artifacts.

        Inputs may be :class:`~conversio.engine.incoming.Incoming` files still being
        stored: the first step reads them in place. Warnings a user should see (a
        converter failed and another route was taken) are appended to ``warnings``.
        """
        if not inputs:
            raise InvalidRequest("no input files were given")
        if not stages:
            raise InvalidRequest("nothing to do: give a target format or an operation")
        emit = self._emitter(on_event)
        run = _Run(preferences or RoutePreferences(), emit, cancel or threading.Event())
        if warnings is not None:
            run.warnings = warnings
        emit(Event(EventKind.PLAN_STARTED, items=len(inputs)))
        items: Sequence[Item] = list(inputs)
        remaining = tuple(stages)
        try:
            while remaining:
                run.check()
                used, items = self._run_stage(remaining, items, run)
                remaining = remaining[used:]
            artifacts = [settled(a) for a in items]  # a stage with nothing to do passes inputs on
        except ConversioError as exc:
            emit(Event(EventKind.PLAN_FAILED, error=exc.to_dict(), message=exc.message))
            raise
        emit(Event(EventKind.PLAN_FINISHED, items=len(artifacts), artifacts=tuple(a.id for a in artifacts)))
        return artifacts

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
        fmt, bundle = _state([a.format for a in inputs])
        step = self.router.step(spec, fmt, bundle)
        run = _Run(RoutePreferences(), self._emitter(on_event), threading.Event())
        return self._run_step(step, spec.options.validate(options or {}), [list(inputs)], run)[0]

    def plan(
        self, formats: Sequence[str], stages: Sequence[Stage], preferences: RoutePreferences | None = None
    ) -> list[Route]:
        """The routes the stages would take for inputs of ``formats`` (nothing runs).

        Operations that would run fused are one route of one step.
        """
        prefs = preferences or RoutePreferences()
        fmt, bundle = _state(formats)
        routes = []
        remaining = tuple(stages)
        while remaining:
            stage = remaining[0]
            if isinstance(stage, OperationStage):
                step, _, used = self._operation_step(remaining, fmt, bundle)
                route = Route(fmt, step.target, (step,), step.cost, bundle_in=bundle)
            else:
                route = self.router.route(fmt, stage.target, via=stage.via, bundle=bundle, preferences=prefs)
                used = 1
            routes.append(route)
            remaining = remaining[used:]
            fmt, bundle = route.target, route.bundle_out
        return routes

    # -- stages ------------------------------------------------------------
    def _run_stage(
        self, stages: Sequence[Stage], items: Sequence[Item], run: _Run
    ) -> tuple[int, Sequence[Item]]:
        """Run the first of ``stages`` (with the operations fused to it); (stages done, results)."""
        stage = stages[0]
        fmt, bundle = _state([a.format for a in items])
        if isinstance(stage, OperationStage):
            step, options, used = self._operation_step(stages, fmt, bundle)
            return used, self._run_step(step, options, [items], run)[0]
        return 1, self._run_conversion(stage, fmt, bundle, items, run)

    def _operation_step(
        self, stages: Sequence[Stage], fmt: str, bundle: bool
    ) -> tuple[RouteStep, dict[str, Any], int]:
        """The step of the operation ``stages[0]`` (fused with those that follow when they can be),
        its validated options and how many stages it does."""
        stage = stages[0]
        assert isinstance(stage, OperationStage)
        step = self.router.operation(stage.name, fmt, bundle)
        assert step.spec is not None
        group = [(step, step.spec.options.validate(stage.options)), *self._fusable(step, stages[1:])]
        step, options = _fused(group) if len(group) > 1 else group[0]
        return step, options, len(group)

    def _fusable(self, step: RouteStep, stages: Sequence[Stage]) -> list[tuple[RouteStep, dict[str, Any]]]:
        """The operations among the first of ``stages`` that can run in one step after ``step``.

        Only an optimisation: a stage that cannot be planned here ends the group and
        reports its error when its turn comes.
        """
        group: list[tuple[RouteStep, dict[str, Any]]] = []
        for stage in stages:
            if not isinstance(stage, OperationStage):
                break
            try:
                following = self.router.operation(stage.name, step.target, step.bundle_out)
                assert following.spec is not None
                if not _fuses(step, following):
                    break
                group.append((following, following.spec.options.validate(stage.options)))
            except ConversioError:
                break
            step = following
        return group

    def _run_conversion(
        self, stage: ConvertStage, fmt: str, bundle: bool, items: Sequence[Item], run: _Run
    ) -> Sequence[Item]:
        """A conversion stage: routed, and routed again without a converter that failed.

        Another route is taken only after a converter's own failure (not a crash, which is
        run again on the same route, nor a fault of the input), only when it is no lossier,
        and always reported in the result's warnings.
        """
        self._check_rendering(stage, items)
        errors: list[tuple[Route, ConversioError]] = []
        prefs = run.preferences
        while True:
            try:
                route = self.router.route(fmt, stage.target, via=stage.via, bundle=bundle, preferences=prefs)
            except NoRoute as exc:
                if not errors:
                    raise NoRoute(f"{_names(items)}: {exc.message}", **exc.details) from None
                raise _all_failed(errors) from None
            if errors and _lossy_steps(route) > _lossy_steps(errors[0][0]):
                raise _all_failed(errors) from None
            if not route.steps:
                self._check_passthrough(items, stage.target)
            try:
                done = self._run_route(route, stage.options, items, run)
            except ConversioError as exc:
                errors.append((route, exc))
                converter = exc.details.get("converter")
                retry = exc.code in RETRYABLE and converter and not exc.details.get("crashed")
                if not retry or len(errors) >= MAX_ATTEMPTS:
                    raise _all_failed(errors) from None
                # avoided from now on, in per-item reroutes and later stages too
                prefs = run.preferences = attrs.evolve(prefs, avoid=(*prefs.avoid, str(converter)))
                continue
            if errors:
                failed = "; ".join(f"{self._step_of(e)} failed ({e.message})" for _, e in errors)
                run.warnings.append(f"{_names(items)}: {failed}; converted through {route} instead")
            return done

    def _step_of(self, error: ConversioError) -> str:
        """``pdf → png``: the step a converter's error came from, as a user reads it."""
        spec = self.registry.converters.get(str(error.details.get("converter")))
        return f"{spec.source} → {spec.target}" if spec else "a step"

    def _check_rendering(self, stage: ConvertStage, items: Sequence[Item]) -> None:
        """Text becomes a picture, a sound or a video only when the user asks for it: with a
        ``via``, or by a name that says the file is text (``notes.txt``). A file only guessed
        to be text (no name, or an unknown extension) is refused for what it is."""
        formats = self.registry.formats
        if (
            stage.via
            or stage.target not in formats
            or formats.get(stage.target).kind not in RENDERED_FROM_TEXT
        ):
            return
        for item in items:
            text = item.format in formats and formats.get(item.format).kind is Kind.TEXT
            if text and claimed_format(item.name, formats) != item.format:
                described = formats.get(item.format).description.split(" (")[0].lower()
                raise UnsupportedFormat(
                    f"{item.name} is {described}, not {formats.get(stage.target).kind.value}; to render "
                    f"it as {stage.target} anyway, ask for the route (for example via pdf) or name it "
                    f"as {item.format}",
                    file=item.name,
                    format=item.format,
                    target=stage.target,
                )

    def _check_passthrough(self, items: Sequence[Item], target: str) -> None:
        """A file that is already ``target`` is passed on unchanged, under ``target``'s name.
        When its own name says otherwise, the plugin that reads ``target`` must not deny that
        the content parses as it: a wrong guess is never handed back renamed."""
        if self.confirm is None:
            return
        formats = self.registry.formats
        for item in items:
            claimed = claimed_format(item.name, formats)
            if claimed is None or claimed == item.format:
                continue
            with ExitStack() as stack:
                path = self._input_file(stack, item).path
                if self.confirm(path, item.format) is not False:
                    continue
            raise FormatMismatch(
                f"{item.name} is named as {claimed} and its content could not be read as {item.format}; "
                f"check that it is the file you meant",
                file=item.name,
                claimed=claimed,
                format=item.format,
            )

    def _run_route(
        self, route: Route, options: Mapping[str, Any], items: Sequence[Item], run: _Run
    ) -> Sequence[Item]:
        """Run ``route`` on ``items`` together; a route that unpacks archives runs each archive
        as a lane of its own, so that ``a.zip b.zip → tar.gz`` repacks each (``a.tar.gz``,
        ``b.tar.gz``) instead of pouring both into one."""
        unpacks = bool(route.steps) and route.steps[0].spec is not None and route.steps[0].spec.target == ANY
        lanes = [[item] for item in items] if unpacks else [items]
        return [item for lane in self._run_lanes(route, options, lanes, run) for item in lane]

    def _run_lanes(
        self, route: Route, options: Mapping[str, Any], lanes: Sequence[Sequence[Item]], run: _Run
    ) -> Sequence[Sequence[Item]]:
        """Run ``route`` on each lane (a list of files) independently, steps in lock-step.

        A stage's route runs on one lane holding all its files; a reroute runs
        one lane per file, so every file is converted on its own while each
        step still maps over all of them at once.
        """
        step_options = split_options(route.steps, options)
        for step, opts in zip(route.steps, step_options, strict=True):
            run.check()
            if step.spec is None:
                lanes = [self._reroute(step.target, lane, run, options) for lane in lanes]
            else:
                lanes = self._run_step(step, opts, lanes, run)
        return lanes

    # -- steps -------------------------------------------------------------
    def _run_step(
        self, step: RouteStep, options: dict[str, Any], lanes: Sequence[Sequence[Item]], run: _Run
    ) -> list[list[Artifact]]:
        """One converter over every lane: a many-to-one step takes a lane whole, others each file."""
        spec = step.spec
        assert spec is not None
        index = next(run.steps)
        consumes = spec.cardinality is Cardinality.MANY_TO_ONE
        jobs: list[tuple[int, Sequence[Item]]] = []
        for n, lane in enumerate(lanes):
            jobs.extend([(n, lane)] if consumes else [(n, [item]) for item in lane])
        run.emit(Event(EventKind.STEP_STARTED, index, spec.id, items=len(jobs), message=step.describe()))
        try:
            results = self._map(
                lambda job: self._run_task(step, options, job[1][1], run, _Place(index, job[0], len(jobs))),
                list(enumerate(jobs)),
            )
        except ConversioError as exc:
            exc.details.setdefault("converter", spec.id)
            exc.details.setdefault("step", index)
            run.emit(Event(EventKind.STEP_FAILED, index, spec.id, error=exc.to_dict(), message=exc.message))
            raise
        out: list[list[Artifact]] = [[] for _ in lanes]
        for (number, inputs), produced in zip(jobs, results, strict=True):
            run.descend(inputs, produced)
            out[number].extend(produced)
        ids = tuple(a.id for lane in out for a in lane)
        run.emit(Event(EventKind.STEP_FINISHED, index, spec.id, items=len(ids), fraction=1.0, artifacts=ids))
        return out

    def _run_task(
        self, step: RouteStep, options: dict[str, Any], inputs: Sequence[Item], run: _Run, place: _Place
    ) -> list[Artifact]:
        """One converter call, answered from the cache when it can be."""
        spec = step.spec
        assert spec is not None
        run.check()
        if any(isinstance(a, Incoming) for a in inputs):
            return self._run_early(step, options, inputs, run, place)
        key = cache_key(spec.id, spec.version, options, [settled(a) for a in inputs])
        cached = self._cached(key, spec.id, run, place)
        if cached is not None:
            return cached
        artifacts = self._execute(step, options, inputs, run, place, run.cancel)
        self._remember(key, artifacts)
        return artifacts

    def _run_early(
        self, step: RouteStep, options: dict[str, Any], inputs: Sequence[Item], run: _Run, place: _Place
    ) -> list[Artifact]:
        """Run the task on the callers' own files while the store takes its copies.

        The task runs in this thread, as any other (an engine may tie its processes to
        the thread that started them). Once the last copy is stored, the thread that
        stored it asks the cache (no thread of its own), and a hit stops the task. A
        result is kept only if every file is still what was sniffed; otherwise the step
        runs again on the stored copies.
        """
        stop = threading.Event()
        lookup = self._when_stored(step, options, inputs, run, place, stop)
        failure: ConversioError | None = None
        try:
            artifacts = self._execute(step, options, inputs, run, place, _Either(run.cancel, stop))
        except ConversioError as exc:
            artifacts, failure = [], exc
        try:
            stored, key, cached = lookup.result()
        except BaseException:  # an input could not be stored: its step's results go too
            self._discard(artifacts)
            raise
        if cached is not None or not _unchanged(inputs):
            self._discard(artifacts)
            return cached if cached is not None else self._run_task(step, options, stored, run, place)
        if failure is not None:
            raise failure
        self._remember(key, artifacts)
        return artifacts

    def _discard(self, artifacts: Sequence[Artifact]) -> None:
        for artifact in artifacts:
            self.store.delete(artifact.id)

    def _when_stored(
        self,
        step: RouteStep,
        options: dict[str, Any],
        inputs: Sequence[Item],
        run: _Run,
        place: _Place,
        stop: threading.Event,
    ) -> Future[tuple[list[Artifact], str, list[Artifact] | None]]:
        """The inputs once stored, their cache key and the cached result, looked up by whichever thread
        stores the last of them; ``stop`` is set when the running task is no longer wanted (a cached
        result, or an input that could not be stored)."""
        spec = step.spec
        assert spec is not None
        found: Future[tuple[list[Artifact], str, list[Artifact] | None]] = Future()
        pending = [item.stored for item in inputs if isinstance(item, Incoming)]
        left, lock = [len(pending)], threading.Lock()

        def arrived(done: Future[Artifact]) -> None:
            if done.cancelled() or done.exception() is not None:
                stop.set()  # an input that cannot be stored takes the task's result with it
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            try:
                stored = [settled(a) for a in inputs]
                key = cache_key(spec.id, spec.version, options, stored)
                cached = self._cached(key, spec.id, run, place)
            except BaseException as exc:
                stop.set()
                found.set_exception(exc)
                return
            if cached is not None:
                stop.set()
            found.set_result((stored, key, cached))

        for future in pending:
            future.add_done_callback(arrived)
        return found

    def _cached(self, key: str, converter: str, run: _Run, place: _Place) -> list[Artifact] | None:
        """The artifacts the cache holds for ``key`` (announced as a cached step), if any."""
        if not self.cache:
            return None
        cached = self.store.cache_get(key)
        if cached is None:
            return None
        artifacts = [self.store.get(i) for i in cached]
        run.emit(place.event(EventKind.STEP_CACHED, converter, 1.0, artifacts=tuple(cached)))
        return artifacts

    def _remember(self, key: str, artifacts: list[Artifact]) -> None:
        if self.cache:
            self.store.cache_put(key, [a.id for a in artifacts])

    def _execute(
        self,
        step: RouteStep,
        options: dict[str, Any],
        inputs: Sequence[Item],
        run: _Run,
        place: _Place,
        cancel: CancelFlag,
    ) -> list[Artifact]:
        """Run the converter on ``inputs``; a run whose worker crashed (killed, a segfault) runs
        once more, on the same converter, and says so."""
        try:
            return self._execute_once(step, options, inputs, run, place, cancel)
        except ConversioError as exc:
            if not exc.details.get("crashed") or cancel.is_set():
                raise
        run.warnings.append(
            f"{_names(inputs)}: the conversion to {step.target} stopped unexpectedly and was run again"
        )
        return self._execute_once(step, options, inputs, run, place, cancel)

    def _execute_once(
        self,
        step: RouteStep,
        options: dict[str, Any],
        inputs: Sequence[Item],
        run: _Run,
        place: _Place,
        cancel: CancelFlag,
    ) -> list[Artifact]:
        """Run the converter on ``inputs`` in the executor and store what it produced."""
        spec = step.spec
        assert spec is not None
        started = time.monotonic()

        def progress(fraction: float, message: str) -> None:
            eta = estimate_remaining(time.monotonic() - started, fraction)
            run.emit(place.event(EventKind.PROGRESS, spec.id, fraction, message=message, eta=eta))

        with ExitStack() as stack:
            files = tuple(attrs.evolve(self._input_file(stack, a), origin=run.origin(a)) for a in inputs)
            out_dir = stack.enter_context(self.store.scratch_dir())
            task = Task(
                spec.id,
                spec.run,
                spec.install_hint,
                files,
                out_dir,
                step.source,
                spec.target,
                options,
                self.limits,
            )
            hasher = OutputHasher(out_dir)
            stack.callback(hasher.close)
            try:
                finished = self.executor.run(
                    task,
                    timeout=self.limits.step_timeout(spec.engine.split(".", 1)[0]),
                    cancel=cancel,
                    on_progress=progress,
                    on_write=hasher.follow,
                )
            except ConversioError as exc:
                # an engine that ran out of room says only that it failed: the full disk tells why
                if exc.code in BLAMES_INPUT and nearly_full(out_dir):
                    raise out_of_space(f"the result of converting {_names(inputs)}") from None
                raise
            digests = hasher.digests()
            run.warnings.extend(finished.warnings)
            artifacts: list[Artifact] = []
            try:
                for out in finished.produced:
                    path = out_dir / out.relpath
                    fmt = spec.target if spec.target != ANY else self.sniffer(path, out.name)
                    digest = digests.get(out.relpath)
                    artifacts.append(
                        self.store.put_file(path, name=out.name, format=fmt, move=True, digest=digest)
                    )
            except BaseException:  # a step's outputs are kept all or none (a full disk stops them midway)
                self._discard(artifacts)
                raise
        progress(1.0, "")
        return artifacts

    def _input_file(self, stack: ExitStack, item: Item) -> InputFile:
        """A converter's view of an input: the caller's own file, or the stored one."""
        if isinstance(item, Incoming):
            return InputFile(item.path, item.name, item.format)
        return InputFile(stack.enter_context(self.store.local_path(item.id)), item.name, item.format)

    def _reroute(
        self, target: str, items: Sequence[Item], run: _Run, options: Mapping[str, Any]
    ) -> list[Item]:
        """Route each item on its own, from its sniffed format to ``target``; order is kept.

        Items of one format share a route and run together; a nested archive
        is not unpacked again (``unpack=False``).
        """
        routes: dict[str, Route] = {}
        for item in items:
            if item.format not in routes:
                try:
                    routes[item.format] = self.router.route(
                        item.format, target, preferences=run.preferences, unpack=False
                    )
                except NoRoute as exc:
                    raise NoRoute(
                        f"{item.name}: {exc.message}", **{**exc.details, "file": item.name}
                    ) from None
        valid = [o for r in routes.values() for s in r.steps if s.spec for o in s.spec.options]
        unknown = [k for k in options if k not in {o.name for o in valid}]
        if unknown:
            raise unknown_options(unknown, valid)
        results: dict[int, Sequence[Item]] = {}
        for fmt, route in routes.items():
            positions = [i for i, item in enumerate(items) if item.format == fmt]
            if not route.steps:
                self._check_passthrough([items[i] for i in positions], target)
            lanes = self._run_lanes(route, _declared(route, options), [[items[i]] for i in positions], run)
            results.update(zip(positions, lanes, strict=True))
        return [a for i in range(len(items)) for a in results[i]]

    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """``fn`` over ``items`` in order, in parallel up to the executor's size."""
        workers = min(self.executor.size, len(items))
        if workers <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conversio-map") as pool:
            return list(pool.map(fn, items))


def _names(items: Sequence[Item]) -> str:
    """The user's names of ``items``, for a message."""
    return listed(item.name for item in items)


def _lossy_steps(route: Route) -> int:
    return sum(1 for step in route.steps if step.spec is not None and step.spec.lossy)


def _unchanged(items: Sequence[Item]) -> bool:
    """Whether no caller's file among ``items`` changed since it was sniffed."""
    return all(item.unchanged() for item in items if isinstance(item, Incoming))


def _state(formats: Sequence[str]) -> tuple[str, bool]:
    distinct = set(formats)
    if len(distinct) == 1:
        return formats[0], len(formats) > 1
    return ANY, True


def _fuses(step: RouteStep, following: RouteStep) -> bool:
    """Whether ``following`` can run in the same call as ``step`` (:attr:`ConverterSpec.fuse`)."""
    first, then = step.spec, following.spec
    return bool(
        first
        and then
        and first.fuse
        and first.fuse == then.fuse
        and first.cardinality is not Cardinality.ONE_TO_MANY
        and then.cardinality is not Cardinality.MANY_TO_ONE
    )


def _fused(group: Sequence[tuple[RouteStep, dict[str, Any]]]) -> tuple[RouteStep, dict[str, Any]]:
    """One step running the operations of ``group`` through their ``fuse`` function.

    It takes its input as the first operation does (a many-to-one step takes the
    whole bundle) and ends as the last one does; its cache key covers every
    operation, each with its options.
    """
    first, last = group[0][0], group[-1][0]
    specs = [step.spec for step, _ in group if step.spec is not None]
    head, tail = specs[0], specs[-1]
    spec = attrs.evolve(
        head,
        id="+".join(s.id for s in specs),
        target=tail.target,
        run=head.fuse,
        cardinality=head.cardinality if head.cardinality is Cardinality.MANY_TO_ONE else tail.cardinality,
        operation="+".join(str(s.operation) for s in specs),
        version="+".join(s.version for s in specs),
        options=OptionsSchema(),
        description=" then ".join(s.description for s in specs),
    )
    step = attrs.evolve(
        first, target=last.target, spec=spec, cost=sum(s.cost for s, _ in group), bundle_out=last.bundle_out
    )
    return step, {"steps": [[s.operation, options] for s, (_, options) in zip(specs, group, strict=True)]}


def _declared(route: Route, options: Mapping[str, Any]) -> dict[str, Any]:
    names = {o.name for s in route.steps if s.spec for o in s.spec.options}
    return {k: v for k, v in options.items() if k in names}


def split_options(steps: Sequence[RouteStep], options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Give each step the options its schema declares, validated with defaults.

    An option no step declares is ``INVALID_OPTION`` (listing the valid ones),
    unless a reroute step may still use it at run time.
    """
    specs = [s.spec for s in steps]
    known = {o.name for spec in specs if spec for o in spec.options}
    unknown = [k for k in options if k not in known]
    if unknown and all(spec is not None for spec in specs):
        raise unknown_options(unknown, [o for spec in specs if spec for o in spec.options])
    result = []
    for spec in specs:
        if spec is None:
            result.append(dict(options))
            continue
        mine = {k: v for k, v in options.items() if k in spec.options}
        result.append(spec.options.validate(mine))
    return result


def cache_key(converter: str, version: str, options: Mapping[str, Any], inputs: Sequence[Artifact]) -> str:
    """A digest of everything that determines a step's output."""
    material = json.dumps(
        [converter, version, sorted(options.items()), [(a.sha256, a.name, a.format) for a in inputs]],
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _all_failed(errors: list[tuple[Route, ConversioError]]) -> ConversioError:
    """The error of a stage: the only one as it was, or the last one's message with every
    attempt listed in its details."""
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


def estimate_remaining(elapsed: float, fraction: float) -> float | None:
    """Seconds still to go at the pace so far; ``None`` before the pace can be told."""
    if fraction >= 1.0:
        return 0.0
    if fraction < 0.01 or elapsed < 0.2:
        return None
    return elapsed * (1.0 - fraction) / fraction
