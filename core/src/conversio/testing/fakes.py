"""Fake formats and converters for testing the core itself (no real engine).

Fake files are text: a first line naming the format (``FAKE:fa``), then a body.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from conversio.converters import Cardinality, ConversionRequest, ConverterSpec, Output, with_extension
from conversio.errors import CorruptFile
from conversio.formats import Format, Kind, Magic
from conversio.hookspecs import hookimpl
from conversio.options import Option, OptionsSchema
from conversio.registry import ConverterRegistrar, FormatRegistrar

FAKE_FORMATS = ("fa", "fb", "fc", "fd")
_HERE = "conversio.testing.fakes"


def write_fake(path: Path, fmt: str, body: str = "hello") -> Path:
    """Write a fake file of format ``fmt``."""
    path.write_text(f"FAKE:{fmt}\n{body}\n")
    return path


def _read(request_path: Path) -> tuple[str, str]:
    text = request_path.read_text()
    if not text.startswith("FAKE:") or "\n" not in text:
        raise CorruptFile(f"{request_path.name} is not a fake file", file=request_path.name)
    header, body = text.split("\n", 1)
    return header[5:], body


def relabel(request: ConversionRequest) -> list[Output]:
    """1→1: rewrite the header to the target format; ``suffix`` is appended to the body."""
    _, body = _read(request.input.path)
    out = request.output(with_extension(request.input.name, request.target))
    suffix = request.options.get("suffix") or ""
    out.path.write_text(f"FAKE:{request.target}\n{body.rstrip()}{suffix}\n")
    return [out]


def split_lines(request: ConversionRequest) -> list[Output]:
    """1→n: one output per body line."""
    _, body = _read(request.input.path)
    outputs = []
    stem = request.input.name.rsplit(".", 1)[0]
    for i, line in enumerate(body.splitlines(), 1):
        out = request.output(f"{stem}-{i:03d}.{request.target}")
        out.path.write_text(f"FAKE:{request.target}\n{line}\n")
        outputs.append(out)
    return outputs


def concat(request: ConversionRequest) -> list[Output]:
    """n→1: bodies joined in input order."""
    bodies = [_read(i.path)[1].rstrip() for i in request.inputs]
    out = request.output(f"joined.{request.target}")
    out.path.write_text(f"FAKE:{request.target}\n" + "\n".join(bodies) + "\n")
    return [out]


def sleep(request: ConversionRequest) -> list[Output]:
    """Sleep ``seconds`` (for timeouts), reporting progress, then relabel."""
    seconds = float(request.options.get("seconds") or 0)
    steps = 10
    for i in range(steps):
        time.sleep(seconds / steps)
        request.progress((i + 1) / steps)
    return relabel(request)


def crash(request: ConversionRequest) -> list[Output]:
    """Kill the process running the converter (a crashing engine)."""
    os._exit(3)


def refuse(request: ConversionRequest) -> list[Output]:
    """Refuse the input as damaged, naming it as a converter names its input."""
    raise CorruptFile(f"{request.input.name} cannot be read", file=request.input.name)


def explode(request: ConversionRequest) -> list[Output]:
    """Fail with an unexpected exception (a buggy converter)."""
    raise RuntimeError("boom")


def spec(source: str, target: str, fn: str = "relabel", **kwargs: Any) -> ConverterSpec:
    """A fake spec ``fake.test:source->target`` running ``fn`` of this module."""
    kwargs.setdefault("options", OptionsSchema.of(Option("suffix", "str", default="")))
    return ConverterSpec(
        id=kwargs.pop("id", f"fake.test:{source}->{target}"),
        source=source,
        target=target,
        run=f"{_HERE}:{fn}",
        **kwargs,
    )


class FakePlugin:
    """A plugin with the fake formats and the converters it is given."""

    def __init__(self, *specs: ConverterSpec, formats: tuple[str, ...] = FAKE_FORMATS) -> None:
        self.specs = specs
        self.formats = formats

    @hookimpl
    def register_formats(self, formats: FormatRegistrar) -> None:
        for name in self.formats:
            formats.add(
                Format(name, Kind.DATA, f"fake {name}", (name,), (), (), (Magic(f"FAKE:{name}\n".encode()),))
            )

    @hookimpl
    def register_converters(self, converters: ConverterRegistrar) -> None:
        for s in self.specs:
            converters.add(s)


def chain_plugin() -> FakePlugin:
    """fa → fb → fc (1→1), fc → fd (1→n lines), fd → fc (n→1 concat)."""
    return FakePlugin(
        spec("fa", "fb"),
        spec("fb", "fc"),
        spec("fc", "fd", "split_lines", cardinality=Cardinality.ONE_TO_MANY),
        spec("fd", "fc", "concat", cardinality=Cardinality.MANY_TO_ONE, id="fake.test:fd->fc(concat)"),
    )
