"""Orders and their conversions: what a client asked for, checked and planned once through the Python
API, and run the one way every conversion of the server runs (a synchronous request, a job worker's
job, a request handed off as a job)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from conversio.errors import Cancelled, ConversioError, NoRoute, UnsupportedFormat, listed
from conversio.formats import ANY
from conversio.ingest import Arriving, settled
from conversio.stores.base import Artifact
from conversio_server.errors import ApiError
from conversio_server.models import StepSpec

if TYPE_CHECKING:
    from conversio import Conversio, Conversion, Plan, Result
    from conversio_server.leases import JobProgress
    from conversio_server.metrics import Metrics


@attrs.frozen
class Order:
    """What a client asked for: inputs, a target, waypoints, options, further steps."""

    #: stored, or on their way into the store (:meth:`~conversio_server.intake.Intake.arriving`)
    inputs: tuple[Artifact | Arriving, ...]
    target: str | None
    via: tuple[str, ...] = ()
    options: dict[str, Any] = attrs.field(factory=dict)
    then: tuple[StepSpec, ...] = ()
    store: bool = False

    def spec(self) -> dict[str, Any]:
        """The order as a durable job's spec (inputs by stored id; blocks until they are stored)."""
        inputs = [settled(a) for a in self.inputs]
        first = inputs[0]
        return {
            "inputs": [a.id for a in inputs],
            "outputFormat": self.target,
            "via": list(self.via),
            "options": dict(self.options),
            "then": [s.model_dump() for s in self.then],
            "inputSize": sum(a.size for a in inputs),
            "input": {"filename": first.name, "format": first.format, "size": first.size},
        }

    @classmethod
    def of_spec(cls, spec: dict[str, Any], inputs: Sequence[Artifact]) -> Order:
        """The order a job's ``spec`` holds, with its stored ``inputs``."""
        return cls(
            tuple(inputs),
            spec.get("outputFormat"),
            tuple(spec.get("via") or ()),
            dict(spec.get("options") or {}),
            tuple(StepSpec.model_validate(step) for step in spec.get("then") or ()),
        )


@attrs.frozen
class Planned:
    """A checked conversion and its plan, to run without planning again."""

    conversion: Conversion
    plan: Plan


class Conversions:
    """Checks, plans and runs orders with one conversio instance, counting them in ``metrics``."""

    def __init__(self, conversio: Conversio, metrics: Metrics) -> None:
        self.conversio = conversio
        self.metrics = metrics

    def check(self, order: Order) -> Planned:
        """The chain for ``order``, planned before anything runs.

        A pair no route connects is ``UNSUPPORTED_FORMAT`` listing the formats that do convert to the
        target; an unknown target format lists the formats conversio can produce.
        """
        if not order.inputs:
            raise ApiError("INVALID_REQUEST", "give at least one input file")
        if order.target is None and not order.then:
            raise ApiError("INVALID_REQUEST", "give an outputFormat, or steps in 'then'")
        if order.target is not None and self.conversio.canonical(order.target) is None:
            raise ApiError(
                "UNSUPPORTED_FORMAT",
                f"unknown output format {order.target!r}",
                details={"outputFormat": order.target, "supportedOutputFormats": self.output_formats()},
            )
        conversion = self.conversio.convert(
            list(order.inputs), order.target, via=order.via, options=order.options
        )
        for step in order.then:
            if "via" in step.options:
                raise ApiError("INVALID_REQUEST", "a step's waypoints go in its 'via', not in its options")
            conversion = conversion.then(step.step, via=step.via, **step.options)
        try:
            return Planned(conversion, conversion.plan())
        except NoRoute as exc:
            if "operation" in exc.details:
                raise
            raise self._unsupported_pair(exc, order.inputs) from None

    def execute(self, planned: Planned, progress: JobProgress, cancel: threading.Event) -> Result:
        """Run ``planned`` (blocking), reporting to ``progress`` and counting it in the metrics."""
        conversion = planned.conversion
        formats = [a.format for a in conversion.inputs]
        source = formats[0] if len(set(formats)) == 1 else "mixed"
        target = conversion.stages[-1].label if conversion.stages else "none"
        started = time.monotonic()
        progress.planned = max(1, len(planned.plan.steps))
        try:
            result = conversion.run(plan=planned.plan, on_event=progress.observe, cancel=cancel)
            if cancel.is_set():
                raise Cancelled("the conversion was cancelled")
        except ConversioError as exc:
            self.metrics.conversions.labels(source, target, exc.code).inc()
            raise
        except Exception:
            self.metrics.conversions.labels(source, target, "INTERNAL_ERROR").inc()
            raise
        self.metrics.conversions.labels(source, target, "ok").inc()
        self.metrics.duration.labels(source, target).observe(time.monotonic() - started)
        return result

    @functools.lru_cache(maxsize=256)  # noqa: B019 - lives as long as the app
    def input_formats(self, target: str) -> list[str]:
        """Formats some route converts to ``target``."""
        return self.conversio.sources_for(target)

    @functools.lru_cache(maxsize=1)  # noqa: B019
    def output_formats(self) -> list[str]:
        """Formats some converter produces."""
        return self.conversio.targets()

    def _unsupported_pair(self, exc: NoRoute, inputs: Sequence[Artifact | Arriving]) -> ApiError:
        """A pair no route connects, naming the user's files; unrecognised content (``bin``) says why
        in the words of sniffing (unknown content, or a name that disagrees with it)."""
        source, target = str(exc.details.get("source", "")), str(exc.details.get("target", ""))
        via = exc.details.get("via") or []
        details: dict[str, Any] = {
            "inputFormat": source,
            "outputFormat": target,
            "via": via,
            "supportedInputFormats": self.input_formats(target),
            "suggestions": exc.details.get("suggestions") or [],
        }
        files = [i for i in inputs if source == ANY or i.format == source] or list(inputs)
        details["files"] = [i.name for i in files]
        unread = self._why_unread(files) if source == "bin" else None
        if unread is not None:
            return ApiError(
                unread.code,
                unread.message,
                details={**details, **{k: v for k, v in unread.details.items() if k != "supported"}},
            )
        shown = "this mix of formats" if source == ANY else source
        why = f"no converter turns {shown} into {target}"
        return ApiError(
            "UNSUPPORTED_FORMAT",
            f"{listed(i.name for i in files)} cannot be converted to {target}"
            + (f" via {', '.join(via)}" if via else "")
            + f": {why}",
            details=details,
        )

    def _why_unread(self, inputs: Sequence[Artifact | Arriving]) -> ConversioError | None:
        """Sniffing's own error about the first input it cannot read (blocking: reads its head)."""
        for item in inputs:
            try:
                if isinstance(item, Arriving):
                    self.conversio.sniff(item.path, name=item.name)
                else:
                    with self.conversio.store.local_path(item.id) as path:
                        self.conversio.sniff(path, name=item.name)
            except UnsupportedFormat as exc:
                return exc
            except (ConversioError, OSError):
                continue
        return None
