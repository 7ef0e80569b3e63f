"""A unit of work for a worker: one converter call on some input files."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from conversio.converters import ConversionRequest, InputFile, Output, StepCall, load_callable
from conversio.errors import ConversioError, ConversionFailed, FileTooLarge, listed
from conversio.formats import ANY
from conversio.limits import Limits
from conversio.stores.space import is_full, out_of_space

log = logging.getLogger("conversio.engine")

ProgressCallback = Callable[[float, str], None]
#: Told the name of each output a task starts to write (``ConversionRequest.write``).
WriteCallback = Callable[[str], None]


@attrs.frozen
class Task:
    """Everything a worker needs to run a converter; picklable."""

    converter: str
    run: str
    install_hint: str
    inputs: tuple[InputFile, ...]
    output_dir: Path
    source: str
    target: str
    options: dict[str, Any] = attrs.field(factory=dict)
    limits: Limits = attrs.field(factory=Limits)
    #: the operations of a fused call (:attr:`~conversio.converters.ConversionRequest.steps`)
    steps: tuple[StepCall, ...] = ()


@attrs.frozen
class Produced:
    """A file a task produced, relative to its output folder."""

    relpath: str
    name: str


@attrs.frozen
class Finished:
    """What a task that succeeded hands back: its files, and the warnings its converter gave."""

    produced: tuple[Produced, ...]
    warnings: tuple[str, ...] = ()


def execute(
    task: Task,
    on_progress: ProgressCallback | None = None,
    on_write: WriteCallback | None = None,
) -> Finished:
    """Run ``task`` here and now; every failure becomes a :class:`ConversioError`."""
    fn = load_callable(task.run, hint=task.install_hint, what=task.converter)
    request = ConversionRequest(
        inputs=task.inputs,
        output_dir=task.output_dir,
        source=task.source,
        target=task.target,
        options=dict(task.options),
        limits=task.limits,
        on_progress=on_progress,
        on_write=on_write,
        steps=task.steps,
    )
    try:
        outputs = fn(request)
    except ConversioError:
        raise
    except MemoryError:
        raise FileTooLarge(
            f"could not convert {subject(task)} to {task.target}: it needs more memory than the "
            f"limit of {task.limits.max_memory // (1024 * 1024):,} MiB",
            converter=task.converter,
            limit=task.limits.max_memory,
        ) from None
    except Exception as exc:
        if is_full(exc):  # the disk, not the input: the same request may succeed later
            raise out_of_space(f"the result of converting {subject(task)}") from None
        # the engine's own words are for the operator's log, never for the user
        log.exception(
            "converter %s failed unexpectedly on %s -> %s", task.converter, task.source, task.target
        )
        raise unexpected_failure(task) from None
    return Finished(tuple(check_outputs(task, outputs)), tuple(request.warnings))


def subject(task: Task) -> str:
    """The task's input files by the names the user gave them."""
    return listed(i.name for i in task.inputs)


def unexpected_failure(task: Task) -> ConversionFailed:
    """What the user is told when a converter fails in a way it did not report itself."""
    return ConversionFailed(
        f"could not convert {subject(task)} to {task.target}: the converter failed unexpectedly",
        converter=task.converter,
    )


def check_outputs(task: Task, outputs: object) -> list[Produced]:
    """Outputs must be existing, non-empty regular files inside the output folder."""
    if not isinstance(outputs, list | tuple) or not all(isinstance(o, Output) for o in outputs):
        raise ConversionFailed(f"{task.converter} did not return a list of Output", converter=task.converter)
    root = task.output_dir.resolve()
    produced = []
    for out in outputs:
        path = out.path.resolve()
        if not path.is_relative_to(root) or path.is_symlink() or not path.is_file():
            raise ConversionFailed(
                f"{task.converter} returned {out.name!r}, which is not a file in its output folder",
                converter=task.converter,
            )
        if path.stat().st_size == 0 and task.target != ANY:
            raise ConversionFailed(
                f"{task.converter} produced an empty file {out.name!r}", converter=task.converter
            )
        produced.append(Produced(path.relative_to(root).as_posix(), out.name))
    if not produced:
        raise ConversionFailed(f"{task.converter} produced nothing", converter=task.converter)
    return produced
