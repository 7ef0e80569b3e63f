"""A test-only plugin: ``sleep`` (copies a PNG after waiting, reporting progress; ``record`` names a file to
write the input's path to) and ``flaky`` (fails while a marker file exists) operations on png, to make jobs
slow or fail at a chosen step."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from conversio.converters import ConversionRequest, ConverterSpec, Output
from conversio.errors import ConversionFailed
from conversio.hookspecs import hookimpl
from conversio.options import Option, OptionsSchema


@hookimpl
def register_converters(converters: Any) -> None:
    converters.add(
        ConverterSpec(
            id="testjobs.sleep:sleep(png)",
            source="png",
            target="png",
            run="jobs_support.slow_plugin:sleep",
            operation="sleep",
            options=OptionsSchema(
                (
                    Option("seconds", "float", default=1.0, min=0, max=60),
                    Option("pidfile", "str", default=""),
                    Option("record", "str", default=""),
                )
            ),
        )
    )
    converters.add(
        ConverterSpec(
            id="testjobs.flaky:flaky(png)",
            source="png",
            target="png",
            run="jobs_support.slow_plugin:flaky",
            operation="flaky",
            options=OptionsSchema((Option("marker", "str", default=""),)),
        )
    )


def sleep(request: ConversionRequest) -> list[Output]:
    seconds = float(request.options["seconds"])
    pid_file, record = str(request.options["pidfile"]), str(request.options["record"])
    if pid_file:
        with open(pid_file, "w") as handle:
            handle.write(str(os.getpid()))
    if record:  # the file this call reads (the caller's own, or the stored copy)
        with open(record, "w") as handle:
            handle.write(str(request.inputs[0].path))
    steps = max(1, int(seconds / 0.1))
    for i in range(steps):
        time.sleep(seconds / steps)
        request.progress((i + 1) / steps)
    return _copy(request)


def flaky(request: ConversionRequest) -> list[Output]:
    marker = str(request.options["marker"])
    if marker and os.path.exists(marker):
        raise ConversionFailed("the flaky step failed (marker present)")
    return _copy(request)


def _copy(request: ConversionRequest) -> list[Output]:
    source = request.inputs[0]
    out = request.output(source.name)
    shutil.copyfile(source.path, out.path)
    return [out]
