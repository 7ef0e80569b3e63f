"""Operations run in one call: consecutive operations a plugin declares fusable
(:attr:`~conversio.converters.ConverterSpec.fuse`) are one step, so a PDF merged then
encrypted is opened and saved once."""

from __future__ import annotations

from typing import Any

import attrs

from conversio.converters import Cardinality, StepCall
from conversio.engine.steps import Call
from conversio.formats import ANY


def fuses(call: Call, following: Call) -> bool:
    """Whether ``following`` can run in the same call as ``call``: the same ``fuse`` function,
    never after a ``1->n`` operation or before an ``n->1`` one."""
    first, then = call.spec, following.spec
    return bool(
        first.fuse
        and first.fuse == then.fuse
        and first.cardinality is not Cardinality.ONE_TO_MANY
        and then.cardinality is not Cardinality.MANY_TO_ONE
    )


@attrs.frozen
class Fused:
    """Operations run in one call of their ``fuse`` function, each with its options.

    The call takes its input as the first operation does (a many-to-one step takes the
    whole bundle) and ends as the last one does; its cache key covers every operation.
    """

    calls: tuple[Call, ...] = attrs.field(validator=attrs.validators.min_len(2))

    @property
    def converter(self) -> str:
        """The converters, joined by ``+``: how events and the steps of a result name the call."""
        return "+".join(c.spec.id for c in self.calls)

    @property
    def function(self) -> str:
        return self.calls[0].spec.fuse

    @property
    def source(self) -> str:
        return self.calls[0].source

    @property
    def target(self) -> str:
        return self.calls[-1].target

    @property
    def bundle_out(self) -> bool:
        return self.calls[-1].bundle_out

    @property
    def cardinality(self) -> Cardinality:
        head, tail = self.calls[0].spec, self.calls[-1].spec
        return head.cardinality if head.cardinality is Cardinality.MANY_TO_ONE else tail.cardinality

    @property
    def install_hint(self) -> str:
        return self.calls[0].install_hint

    @property
    def engine(self) -> str:
        return self.calls[0].engine

    @property
    def makes(self) -> str:
        return self.calls[-1].makes

    @property
    def fused(self) -> tuple[StepCall, ...]:
        return tuple(StepCall(str(c.spec.operation), c.options) for c in self.calls)

    @property
    def options(self) -> dict[str, Any]:
        """The call's own options: none, each operation has its own in :attr:`fused`."""
        return {}

    def describe(self) -> str:
        """As a route step describes itself: ``pdf → pdf (all → one)  [a+b]``."""
        arrow = " → ".join("members" if fmt == ANY else fmt for fmt in (self.source, self.target))
        if self.cardinality is Cardinality.ONE_TO_MANY:
            arrow += " (×items)" if self.makes == ANY else " (×pages)"
        elif self.cardinality is Cardinality.MANY_TO_ONE:
            arrow += " (all → one)"
        elif self.calls[0].mapped:
            arrow += " (each)"
        return f"{arrow}  [{self.converter}]"
