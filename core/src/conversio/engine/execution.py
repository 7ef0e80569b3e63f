"""A step over lanes of files: each task answered by the cache, or run by the executor and
its outputs stored."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import attrs

from conversio.converters import Cardinality, InputFile
from conversio.engine.caching import ResultCache, cache_key
from conversio.engine.early import run_early
from conversio.engine.executors import CancelFlag, Executor
from conversio.engine.fusion import Fused
from conversio.engine.hashing import OutputHasher
from conversio.engine.state import Item, Place, Run, estimate_remaining, names
from conversio.engine.steps import Call
from conversio.engine.task import Task
from conversio.errors import ConversioError
from conversio.events import Event, EventKind
from conversio.formats import ANY
from conversio.ingest import Arriving, settled
from conversio.limits import Limits
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.space import nearly_full, out_of_space

T = TypeVar("T")
R = TypeVar("R")
#: ``sniffer(path, name)``: the format of a file a converter made whose target is ``*``.
Sniffer = Callable[[Path, str], str]
#: Error codes that blame the input or its converter; on a full disk, the disk is to blame.
BLAMES_INPUT = frozenset({"CONVERSION_FAILED", "CORRUPT_FILE"})


class StepRunner:
    """Runs converter calls (:class:`~conversio.engine.steps.Call`, or operations
    :class:`~conversio.engine.fusion.Fused`) in the executor, through the result cache."""

    def __init__(
        self, store: ArtifactStore, executor: Executor, sniffer: Sniffer, limits: Limits, cache: ResultCache
    ) -> None:
        self.store = store
        self.executor = executor
        self.sniffer = sniffer
        self.limits = limits
        self.cache = cache

    def run(self, step: Call | Fused, lanes: Sequence[Sequence[Item]], run: Run) -> list[list[Artifact]]:
        """``step`` over every lane: a many-to-one step takes a lane whole, others each file."""
        index = next(run.steps)
        consumes = step.cardinality is Cardinality.MANY_TO_ONE
        jobs: list[tuple[int, Sequence[Item]]] = []
        for n, lane in enumerate(lanes):
            jobs.extend([(n, lane)] if consumes else [(n, [item]) for item in lane])
        converter = step.converter
        run.emit(Event(EventKind.STEP_STARTED, index, converter, items=len(jobs), message=step.describe()))
        try:
            results = self._map(
                lambda job: self.task(step, job[1][1], run, Place(index, job[0], len(jobs))),
                list(enumerate(jobs)),
            )
        except ConversioError as exc:
            exc.details.setdefault("converter", converter)
            exc.details.setdefault("step", index)
            run.emit(Event(EventKind.STEP_FAILED, index, converter, error=exc.to_dict(), message=exc.message))
            raise
        out: list[list[Artifact]] = [[] for _ in lanes]
        for (number, inputs), produced in zip(jobs, results, strict=True):
            run.descend(inputs, produced)
            out[number].extend(produced)
        ids = tuple(a.id for lane in out for a in lane)
        run.emit(
            Event(EventKind.STEP_FINISHED, index, converter, items=len(ids), fraction=1.0, artifacts=ids)
        )
        return out

    def task(self, step: Call | Fused, inputs: Sequence[Item], run: Run, place: Place) -> list[Artifact]:
        """One converter call, answered from the cache when it can be."""
        run.check()
        if any(isinstance(a, Arriving) for a in inputs):
            return run_early(self, step, inputs, run, place)
        key = cache_key(step, [settled(a) for a in inputs])
        cached = self.cache.find(key, step.converter, run, place)
        if cached is not None:
            return cached
        artifacts = self.execute(step, inputs, run, place, run.cancel)
        self.cache.keep(key, artifacts)
        return artifacts

    def execute(
        self, step: Call | Fused, inputs: Sequence[Item], run: Run, place: Place, cancel: CancelFlag
    ) -> list[Artifact]:
        """Run the converter on ``inputs``; a run whose worker crashed (killed, a segfault) runs
        once more, on the same converter, and says so."""
        try:
            return self._execute_once(step, inputs, run, place, cancel)
        except ConversioError as exc:
            if not exc.details.get("crashed") or cancel.is_set():
                raise
        run.warnings.append(
            f"{names(inputs)}: the conversion to {step.target} stopped unexpectedly and was run again"
        )
        return self._execute_once(step, inputs, run, place, cancel)

    def _execute_once(
        self, step: Call | Fused, inputs: Sequence[Item], run: Run, place: Place, cancel: CancelFlag
    ) -> list[Artifact]:
        """Run the converter on ``inputs`` in the executor and store what it produced."""
        started = time.monotonic()

        def progress(fraction: float, message: str) -> None:
            eta = estimate_remaining(time.monotonic() - started, fraction)
            run.emit(place.event(EventKind.PROGRESS, step.converter, fraction, message=message, eta=eta))

        with ExitStack() as stack:
            files = tuple(attrs.evolve(self.local_file(stack, a), origin=run.origin(a)) for a in inputs)
            out_dir = stack.enter_context(self.store.scratch_dir())
            task = Task(
                step.converter,
                step.function,
                step.install_hint,
                files,
                out_dir,
                step.source,
                step.makes,
                step.options,
                self.limits,
                step.fused,
            )
            hasher = OutputHasher(out_dir)
            stack.callback(hasher.close)
            try:
                finished = self.executor.run(
                    task,
                    timeout=self.limits.step_timeout(step.engine.split(".", 1)[0]),
                    cancel=cancel,
                    on_progress=progress,
                    on_write=hasher.follow,
                )
            except ConversioError as exc:
                # an engine that ran out of room says only that it failed: the full disk tells why
                if exc.code in BLAMES_INPUT and nearly_full(out_dir):
                    raise out_of_space(f"the result of converting {names(inputs)}") from None
                exc.message = with_origins(exc.message, files)
                exc.args = (exc.message,)
                raise
            digests = hasher.digests()
            run.warnings.extend(with_origins(warning, files) for warning in finished.warnings)
            artifacts: list[Artifact] = []
            try:
                for out in finished.produced:
                    path = out_dir / out.relpath
                    fmt = step.makes if step.makes != ANY else self.sniffer(path, out.name)
                    digest = digests.get(out.relpath)
                    artifacts.append(
                        self.store.put_file(path, name=out.name, format=fmt, move=True, digest=digest)
                    )
            except BaseException:  # a step's outputs are kept all or none (a full disk stops them midway)
                self.discard(artifacts)
                raise
        progress(1.0, "")
        return artifacts

    def local_file(self, stack: ExitStack, item: Item) -> InputFile:
        """A converter's view of an input: the caller's own file, or the stored one."""
        if isinstance(item, Arriving):
            return InputFile(item.path, item.name, item.format)
        return InputFile(stack.enter_context(self.store.local_path(item.id)), item.name, item.format)

    def discard(self, artifacts: Sequence[Artifact]) -> None:
        for artifact in artifacts:
            self.store.delete(artifact.id)

    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """``fn`` over ``items`` in order, in parallel up to the executor's size."""
        workers = min(self.executor.size, len(items))
        if workers <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="conversio-map") as pool:
            return list(pool.map(fn, items))


def with_origins(text: str, files: Sequence[InputFile]) -> str:
    """``text`` naming an intermediate file (``scan.pdf``, made on the way from the user's
    ``scan.png``) says which of the user's files it was made from."""
    for file in files:
        if file.origin and file.origin != file.name and file.name in text and file.origin not in text:
            text = text.replace(file.name, f"{file.name} (made from {file.origin})", 1)
    return text
