"""The engine, through the Python API, with fake formats and converters (no real engine).

Fake files are text: ``FAKE:<format>`` then a body. Converters this module
defines are run as ``test_engine:<function>`` (the worker processes import this
module from the same ``sys.path``).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import pytest

from conversio.api import Conversio
from conversio.converters import Cardinality, ConversionRequest, ConverterSpec, Output, StepCall
from conversio.engine.executors import Executor, ProcessPoolExecutor
from conversio.engine.state import estimate_remaining
from conversio.errors import ConversioError, ConversionFailed
from conversio.events import Event, EventKind
from conversio.hookspecs import hookimpl
from conversio.limits import Limits
from conversio.options import Option, OptionsSchema
from conversio.stores.base import Artifact, Digest
from conversio.stores.filesystem import FilesystemStore
from conversio.testing import make_conversio
from conversio.testing.fakes import FakePlugin, chain_plugin, relabel, sleep, spec, write_fake

HERE = __name__
MANY, PACK = Cardinality.ONE_TO_MANY, Cardinality.MANY_TO_ONE
SUFFIX = Option("suffix", "str", default="")


# -- converters of this module -------------------------------------------------------------


def fail_unless_flag(request: ConversionRequest) -> list[Output]:
    """Relabel, but fail (like a buggy engine) until the file named by ``flag`` exists."""
    if not Path(request.options["flag"]).exists():
        raise RuntimeError("flag file missing")
    return relabel(request)


def crash_once(request: ConversionRequest) -> list[Output]:
    """Kill this worker the first time (an engine killed mid-job, as by the OOM killer), then relabel."""
    flag = Path(request.options["flag"])
    if not flag.exists():
        flag.write_text("crashed once")
        os.kill(os.getpid(), 9)
    return relabel(request)


def warn_and_relabel(request: ConversionRequest) -> list[Output]:
    """Relabel, telling the user something the result does not show."""
    request.warn(f"{request.input.name}: a member was left out")
    return relabel(request)


def join_origins(request: ConversionRequest) -> list[Output]:
    """n→1: a file listing where each input came from (``InputFile.origin``)."""
    out = request.output(f"joined.{request.target}")
    out.path.write_text(f"FAKE:{request.target}\n" + ",".join(i.origin for i in request.inputs) + "\n")
    return [out]


def stamp(request: ConversionRequest) -> list[Output]:
    """Write a file named for the target whose content says what made it (real formats' names)."""
    out = request.output(request.input.name.rsplit(".", 1)[0] + "." + request.target)
    out.path.write_text(f"{request.source} -> {request.target}\n")
    return [out]


def sleep_recording_pid(request: ConversionRequest) -> list[Output]:
    """Write this process's id to ``pidfile``, then sleep like ``fakes.sleep``."""
    Path(request.options["pidfile"]).write_text(str(os.getpid()))
    return sleep(request)


def slow_for_early_items(request: ConversionRequest) -> list[Output]:
    """Relabel after sleeping longer for items whose body is a smaller number, so they finish last."""
    number = int(request.input.path.read_text().split("\n")[1])
    time.sleep(max(0.0, 0.3 - 0.05 * number))
    return relabel(request)


def stream_lines(request: ConversionRequest) -> list[Output]:
    """1→n: one output per body line, written piece by piece through ``request.write``; with
    ``grow``, a line is appended to each once all are written (an engine breaking its contract)."""
    body = request.input.path.read_text().split("\n", 1)[1]
    outputs = []
    for number, line in enumerate(body.splitlines(), 1):

        def pieces(stream: BinaryIO, line: str = line) -> None:
            stream.write(f"FAKE:{request.target}\n".encode())
            for _ in range(4):
                stream.flush()
                time.sleep(0.01)  # the engine sees the file grow
                stream.write(line.encode() * 10_000)
            stream.write(b"\n")

        outputs.append(request.write(f"part-{number}.{request.target}", pieces))
    if request.options.get("grow"):
        for out in outputs:
            with out.path.open("ab") as late:
                late.write(b"late\n")
    return outputs


def own(source: str, target: str, fn: str, **kwargs: Any) -> ConverterSpec:
    """A fake spec running ``fn`` of this module."""
    return attrs.evolve(spec(source, target, **kwargs), run=f"{HERE}:{fn}")


def _apply(operation: str, options: dict[str, Any], bodies: list[str]) -> list[str]:
    if operation == "join":
        return ["+".join(bodies)]
    if operation == "tag":
        return [body + options["suffix"] for body in bodies]
    assert operation == "split"
    return [part for body in bodies for part in body.split("+")]


def run_ops(request: ConversionRequest) -> list[Output]:
    """The fuse function of the fake operations join (n→1), tag (1→1) and split (1→n).

    Each output's body ends with how many steps this call ran, so a test can tell fused
    steps (one call) from steps run one at a time.
    """
    assert not request.options, "a fused call's options are its steps'"
    return _ops(request, request.steps)


def _ops(request: ConversionRequest, steps: Sequence[StepCall]) -> list[Output]:
    bodies = [i.path.read_text().split("\n")[1] for i in request.inputs]
    for step in steps:
        bodies = _apply(step.operation, step.options, bodies)
    outputs = []
    for number, body in enumerate(bodies, start=1):
        out = request.output(f"{request.input.name.rsplit('.', 1)[0]}-{number}.fa")
        out.path.write_text(f"FAKE:fa\n{body} [{len(steps)}]\n")
        outputs.append(out)
    return outputs


def join_op(request: ConversionRequest) -> list[Output]:
    return _ops(request, [StepCall("join", request.options)])


def tag_op(request: ConversionRequest) -> list[Output]:
    return _ops(request, [StepCall("tag", request.options)])


def split_op(request: ConversionRequest) -> list[Output]:
    return _ops(request, [StepCall("split", request.options)])


def operation(name: str, cardinality: Cardinality, fuse: str = f"{HERE}:run_ops") -> ConverterSpec:
    """A fake operation on ``fa`` that ``fuse`` can run together with the others."""
    return own(
        "fa",
        "fa",
        f"{name}_op",
        id=f"fake.ops:{name}(fa)",
        operation=name,
        cardinality=cardinality,
        fuse=fuse,
    )


OPERATIONS = (
    operation("join", PACK),
    operation("tag", Cardinality.ONE_TO_ONE),
    operation("split", MANY),
)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Worker processes shared by the tests of this module (they survive kills: that is tested)."""
    shared = ProcessPoolExecutor(2)
    yield shared
    shared.close()


@pytest.fixture(params=["inline", "process"])
def executor(request: pytest.FixtureRequest, pool: ProcessPoolExecutor) -> str | Executor:
    return "inline" if request.param == "inline" else pool


def app_with(executor: str | Executor, *specs: ConverterSpec, **kwargs: Any) -> Conversio:
    return make_conversio(FakePlugin(*specs), executor=executor, **kwargs)


def fake(tmp_path: Path, name: str, body: str = "hello") -> Path:
    fmt = name.rsplit(".", 1)[1]
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_fake(path, fmt, body)


def read(app: Conversio, artifact_id: str) -> str:
    with app.store.open(artifact_id) as fh:
        return fh.read().decode()


def kinds(events: list[Event]) -> list[EventKind]:
    return [e.kind for e in events]


# -- conversions ---------------------------------------------------------------------------------


def test_multi_hop_output(executor: str | Executor, tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), executor=executor)
    result = app.convert(fake(tmp_path, "x.fa"), to="fc", options={"suffix": "!"}).run()
    assert [(a.name, a.format) for a in result.artifacts] == [("x.fc", "fc")]
    # both relabel steps declare "suffix", so both append it
    assert result.read_bytes().decode() == "FAKE:fc\nhello!!\n"
    assert len(result.steps) == 2


def test_one_to_many_then_mapped_keeps_the_order(executor: str | Executor, tmp_path: Path) -> None:
    app = app_with(
        executor,
        spec("fa", "fb", "split_lines", cardinality=MANY),
        own("fb", "fc", "slow_for_early_items"),
    )
    src = fake(tmp_path, "x.fa", "\n".join(str(n) for n in range(1, 7)))
    result = app.convert(src, to="fc").run()
    assert [a.name for a in result.artifacts] == [f"x-{n:03d}.fc" for n in range(1, 7)]
    assert [read(app, a.id) for a in result.artifacts] == [f"FAKE:fc\n{n}\n" for n in range(1, 7)]


def test_many_to_one_joins_in_order(executor: str | Executor, tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), executor=executor)
    result = app.convert(fake(tmp_path, "x.fa", "one\ntwo\nthree"), to="fc", via=["fd"]).run()
    assert result.read_bytes().decode() == "FAKE:fc\none\ntwo\nthree\n"
    assert len(result.steps) == 4


def test_many_inputs_to_one(tmp_path: Path) -> None:
    app = app_with("inline", spec("fa", "fd", "concat", cardinality=PACK))
    inputs = [fake(tmp_path, f"{name}.fa", name) for name in ("c", "a", "b")]
    result = app.convert(inputs, to="fd").run()
    assert result.read_bytes().decode() == "FAKE:fd\nc\na\nb\n"


def test_mixed_formats_are_routed_each_on_its_own(executor: str | Executor, tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), executor=executor)
    inputs = [fake(tmp_path, "x.fa", "from a"), fake(tmp_path, "y.fb", "from b")]
    result = app.convert(inputs, to="fc").run()
    assert [a.name for a in result.artifacts] == ["x.fc", "y.fc"]
    assert [read(app, a.id) for a in result.artifacts] == ["FAKE:fc\nfrom a\n", "FAKE:fc\nfrom b\n"]


def test_operation_by_name(tmp_path: Path) -> None:
    merge = spec("fa", "fa", "concat", cardinality=PACK, operation="merge", id="fake.test:merge(fa)")
    app = app_with("inline", merge, spec("fa", "fb"))
    inputs = [fake(tmp_path, "a.fa", "first"), fake(tmp_path, "b.fa", "second")]
    result = app.convert(inputs).then("merge").then("fb").run()
    assert result.read_bytes().decode() == "FAKE:fb\nfirst\nsecond\n"
    # the router never picks the operation on its own
    assert app.route("fa", "fb").formats == ["fa", "fb"]


def _steps(events: list[Event]) -> list[tuple[str, int]]:
    return [(e.converter, e.items) for e in events if e.kind is EventKind.STEP_STARTED]


def test_consecutive_fusable_operations_run_as_one_step(executor: str | Executor, tmp_path: Path) -> None:
    app = app_with(executor, *OPERATIONS)
    inputs = [fake(tmp_path, "a.fa", "a"), fake(tmp_path, "b.fa", "b")]
    events: list[Event] = []
    conversion = (
        app.convert(inputs).then("join").then("tag", suffix="!").then("tag", suffix="?").then("split")
    )
    result = conversion.run(on_event=events.append)
    # one call ran all four, as the operations would have given them one at a time
    assert [read(app, a.id) for a in result.artifacts] == ["FAKE:fa\na [4]\n", "FAKE:fa\nb!? [4]\n"]
    fused = "fake.ops:join(fa)+fake.ops:tag(fa)+fake.ops:tag(fa)+fake.ops:split(fa)"
    assert _steps(events) == [(fused, 1)]
    assert result.steps == (f"fa → fa (all → one)  [{fused}]",)
    # the plan shows what runs: one route of one step
    assert [[step.converter for step in route.steps] for route in conversion.plan()] == [[fused]]


def test_operations_are_not_fused_after_one_to_many_or_before_many_to_one(tmp_path: Path) -> None:
    app = app_with("inline", *OPERATIONS)
    events: list[Event] = []
    source = fake(tmp_path, "a.fa", "x+y")
    conversion = (
        app.convert(source).then("split").then("tag", suffix="!").then("tag", suffix="?").then("join")
    )
    result = conversion.run(on_event=events.append)
    # the two tags still run as one, on each part of the split
    assert _steps(events) == [
        ("fake.ops:split(fa)", 1),
        ("fake.ops:tag(fa)+fake.ops:tag(fa)", 2),
        ("fake.ops:join(fa)", 1),
    ]
    assert result.read_bytes().decode() == "FAKE:fa\nx [1]!? [2]+y [1]!? [2] [1]\n"


def test_operations_of_another_fuse_function_or_none_run_on_their_own(tmp_path: Path) -> None:
    other = attrs.evolve(operation("tag", Cardinality.ONE_TO_ONE), fuse="")
    app = app_with("inline", operation("join", PACK), other)
    events: list[Event] = []
    result = (
        app.convert([fake(tmp_path, "a.fa", "a")])
        .then("join")
        .then("tag", suffix="!")
        .run(on_event=events.append)
    )
    assert _steps(events) == [("fake.ops:join(fa)", 1), ("fake.ops:tag(fa)", 1)]
    assert result.read_bytes().decode() == "FAKE:fa\na [1]! [1]\n"


def test_a_bad_option_of_a_later_operation_is_reported_as_ever(tmp_path: Path) -> None:
    app = app_with("inline", *OPERATIONS)
    with pytest.raises(ConversioError) as caught:
        app.convert([fake(tmp_path, "a.fa")]).then("join").then("tag", colour="red").run()
    assert caught.value.code == "INVALID_OPTION"


def test_fused_operations_are_cached_as_one_step(tmp_path: Path) -> None:
    app = app_with("inline", *OPERATIONS, cache=True)
    source = fake(tmp_path, "a.fa", "a")
    first = app.convert([source]).then("join").then("tag", suffix="!").run()
    events: list[Event] = []
    again = app.convert([source]).then("join").then("tag", suffix="!").run(on_event=events.append)
    assert [e.converter for e in events if e.kind is EventKind.STEP_CACHED] == [
        "fake.ops:join(fa)+fake.ops:tag(fa)"
    ]
    assert again.artifacts == first.artifacts
    # other options for one of the fused operations are another step
    events.clear()
    app.convert([source]).then("join").then("tag", suffix="?").run(on_event=events.append)
    assert EventKind.STEP_CACHED not in kinds(events)


# -- events, cache and resume ------------------------------------------------------------------


def test_events_of_a_run(executor: str | Executor, tmp_path: Path) -> None:
    seconds = Option("seconds", "float", default=0.0)
    app = app_with(
        executor,
        spec("fa", "fb", "sleep", options=OptionsSchema.of(seconds, SUFFIX)),
        spec("fb", "fc", "split_lines", cardinality=MANY),
    )
    events: list[Event] = []
    result = app.convert(fake(tmp_path, "x.fa", "1\n2"), to="fc", options={"seconds": 0.2}).run(
        on_event=events.append
    )
    assert events[0].kind is EventKind.PLAN_STARTED and events[-1].kind is EventKind.PLAN_FINISHED
    assert events[-1].artifacts == tuple(a.id for a in result.artifacts)
    for step, converter in enumerate(["fake.test:fa->fb", "fake.test:fb->fc"]):
        mine = [e for e in events if e.step == step]
        assert mine[0].kind is EventKind.STEP_STARTED and mine[-1].kind is EventKind.STEP_FINISHED
        assert {e.converter for e in mine} == {converter}
        assert set(kinds(mine[1:-1])) == {EventKind.PROGRESS}
    progress = [e.fraction for e in events if e.step == 0 and e.kind is EventKind.PROGRESS]
    assert progress == sorted(progress) and progress[0] < 0.5 and progress[-1] == 1.0
    assert len(progress) >= 10  # the converter's own reports crossed over from the worker
    etas = [e.eta for e in events if e.step == 0 and e.kind is EventKind.PROGRESS]
    assert etas[-1] == 0.0 and all(eta is None or 0.0 <= eta < 5.0 for eta in etas)
    assert len(events[-2].artifacts) == 2  # the split step made two files


def test_eta_is_the_pace_so_far() -> None:
    assert estimate_remaining(0.05, 0.5) is None  # too early to tell
    assert estimate_remaining(10.0, 0.001) is None
    assert estimate_remaining(10.0, 0.25) == pytest.approx(30.0)
    assert estimate_remaining(3.0, 1.0) == 0.0


def test_second_identical_run_is_cached(executor: str | Executor, tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), executor=executor)
    src = fake(tmp_path, "x.fa", "a\nb")
    first: list[Event] = []
    again: list[Event] = []
    one = app.convert(src, to="fd").run(on_event=first.append)
    two = app.convert(src, to="fd").run(on_event=again.append)
    assert [a.id for a in two.artifacts] == [a.id for a in one.artifacts]
    assert EventKind.STEP_CACHED not in kinds(first)
    cached = [e for e in again if e.kind is EventKind.STEP_CACHED]
    assert [e.converter for e in cached] == ["fake.test:fa->fb", "fake.test:fb->fc", "fake.test:fc->fd"]
    assert EventKind.PROGRESS not in kinds(again), "a converter ran on the second run"


def test_without_cache_the_converters_run_again(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), cache=False)
    src = fake(tmp_path, "x.fa")
    app.convert(src, to="fc").run()
    events: list[Event] = []
    app.convert(src, to="fc").run(on_event=events.append)
    assert EventKind.STEP_CACHED not in kinds(events)
    assert kinds(events).count(EventKind.PROGRESS) == 2


def test_cli_strings_and_json_values_share_the_cache(tmp_path: Path) -> None:
    level = Option("level", "int", default=1, min=0, max=9)
    app = app_with("inline", spec("fa", "fb", options=OptionsSchema.of(level, SUFFIX)))
    src = fake(tmp_path, "x.fa")
    app.convert(src, to="fb", options={"level": 5}).run()
    events: list[Event] = []
    app.convert(src, to="fb", options={"level": "5"}).run(on_event=events.append)
    assert EventKind.STEP_CACHED in kinds(events)
    events.clear()
    app.convert(src, to="fb", options={"level": "6"}).run(on_event=events.append)
    assert EventKind.STEP_CACHED not in kinds(events)


def test_failed_run_resumes_from_the_failed_step(executor: str | Executor, tmp_path: Path) -> None:
    flag = tmp_path / "flag"
    app = app_with(
        executor,
        spec("fa", "fb"),
        spec("fb", "fc"),
        own("fc", "fd", "fail_unless_flag", options=OptionsSchema.of(Option("flag", "str", default=""))),
    )
    src = fake(tmp_path, "x.fa")
    first: list[Event] = []
    with pytest.raises(ConversioError) as info:
        app.convert(src, to="fd", options={"flag": str(flag)}).run(on_event=first.append)
    assert info.value.code == "CONVERSION_FAILED"
    assert info.value.details["converter"] == "fake.test:fc->fd"
    assert "x.fc" in info.value.message  # the user's file, not the converter's own words
    assert "flag file missing" not in info.value.message
    assert [e.converter for e in first if e.kind is EventKind.STEP_FINISHED] == [
        "fake.test:fa->fb",
        "fake.test:fb->fc",
    ]
    flag.touch()
    again: list[Event] = []
    result = app.convert(src, to="fd", options={"flag": str(flag)}).run(on_event=again.append)
    assert result.read_bytes().decode() == "FAKE:fd\nhello\n"
    assert [e.converter for e in again if e.kind is EventKind.STEP_CACHED] == [
        "fake.test:fa->fb",
        "fake.test:fb->fc",
    ]
    assert {e.converter for e in again if e.kind is EventKind.PROGRESS} == {"fake.test:fc->fd"}


def test_intermediate_artifacts_are_in_the_store(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    events: list[Event] = []
    app.convert(fake(tmp_path, "x.fa", "body"), to="fd").run(on_event=events.append)
    finished = {e.converter: e.artifacts for e in events if e.kind is EventKind.STEP_FINISHED}
    [fb_id] = finished["fake.test:fa->fb"]
    artifact = app.store.get(fb_id)
    assert (artifact.name, artifact.format) == ("x.fb", "fb")
    assert read(app, fb_id) == "FAKE:fb\nbody\n"
    # an intermediate result is a valid input of its own
    again = app.convert(artifact, to="fc").run()
    assert again.read_bytes().decode() == "FAKE:fc\nbody\n"


# -- failures: timeouts, crashes, cancellation, retries -----------------------------------------


def test_timeout_kills_the_worker(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    options = OptionsSchema.of(Option("seconds", "float", default=0.0), Option("pidfile", "str", default=""))
    app = app_with(pool, own("fa", "fb", "sleep_recording_pid", options=options), limits=Limits(timeout=1))
    pidfile = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fb", options={"seconds": 30, "pidfile": str(pidfile)}).run()
    assert time.monotonic() - start < 5
    assert info.value.code == "TIMEOUT"
    assert info.value.details["converter"] == "fake.test:fa->fb"
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped: not even a zombie is left


def test_a_crashing_worker_fails_the_step_and_the_pool_goes_on(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    app = app_with(pool, spec("fa", "fb", "crash"), spec("fa", "fc"))
    src = fake(tmp_path, "x.fa")
    for _ in range(2):
        with pytest.raises(ConversioError) as info:
            app.convert(src, to="fb").run()
        assert info.value.code == "CONVERSION_FAILED"
        assert info.value.details["exit_code"] == 3
        assert info.value.details["crashed"] is True
    results = [app.convert(fake(tmp_path, f"{n}.fa", str(n)), to="fc").run() for n in range(3)]
    assert [r.read_bytes().decode() for r in results] == [f"FAKE:fc\n{n}\n" for n in range(3)]


FLAG = OptionsSchema.of(Option("flag", "str", default=""))


def test_a_crashed_step_runs_again_on_the_same_route_and_says_so(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    """A killed worker is not a reason to take another, lossier route: the same step runs again."""
    lossy = spec("fa", "fb", lossy=True)
    app = app_with(pool, own("fa", "fd", "crash_once", options=FLAG), lossy, spec("fb", "fd"))
    events: list[Event] = []
    flag = tmp_path / "flag"
    result = app.convert(fake(tmp_path, "x.fa"), to="fd", options={"flag": str(flag)}).run(
        on_event=events.append
    )
    assert flag.exists(), "the converter never crashed"
    assert result.read_bytes().decode() == "FAKE:fd\nhello\n"
    assert [e.converter for e in events if e.kind is EventKind.STEP_FINISHED] == ["fake.test:fa->fd"]
    assert result.warnings == ("x.fa: the conversion to fd stopped unexpectedly and was run again",)


def test_a_step_that_crashes_again_fails_without_another_route(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    app = app_with(pool, spec("fa", "fd", "crash"), spec("fa", "fb"), spec("fb", "fd"))
    events: list[Event] = []
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run(on_event=events.append)
    assert info.value.code == "CONVERSION_FAILED" and info.value.details["crashed"] is True
    assert {e.converter for e in events if e.kind is EventKind.STEP_STARTED} == {"fake.test:fa->fd"}


def test_a_failed_converter_is_not_replaced_by_a_lossier_route(tmp_path: Path) -> None:
    app = app_with("inline", spec("fa", "fd", "explode"), spec("fa", "fb", lossy=True), spec("fb", "fd"))
    events: list[Event] = []
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run(on_event=events.append)
    assert info.value.code == "CONVERSION_FAILED"
    assert [e.converter for e in events if e.kind is EventKind.STEP_STARTED] == ["fake.test:fa->fd"]


def test_a_converters_warnings_reach_the_result(executor: str | Executor, tmp_path: Path) -> None:
    app = app_with(executor, own("fa", "fb", "warn_and_relabel"))
    result = app.convert(fake(tmp_path, "x.fa"), to="fb").run()
    assert result.warnings == ("x.fa: a member was left out",)


def test_cancel_between_steps(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    cancel = threading.Event()
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if event.kind is EventKind.STEP_FINISHED:
            cancel.set()

    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run(on_event=on_event, cancel=cancel)
    assert info.value.code == "CANCELLED"
    assert [e.step for e in events if e.kind is EventKind.STEP_STARTED] == [0]
    assert events[-1].kind is EventKind.PLAN_FAILED


def test_cancel_stops_a_running_worker(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    app = app_with(pool, spec("fa", "fb", "sleep", options=OptionsSchema.of(Option("seconds", "float"))))
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    start = time.monotonic()
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fb", options={"seconds": 30}).run(cancel=cancel)
    timer.cancel()
    assert info.value.code == "CANCELLED"
    assert time.monotonic() - start < 4


def retry_specs(second_fails: bool) -> list[ConverterSpec]:
    return [
        spec("fa", "fd", "explode", id="fake.bad:fa->fd"),
        spec("fa", "fb"),
        spec("fb", "fd", "explode" if second_fails else "relabel", id="fake.other:fb->fd"),
    ]


def test_a_failing_converter_is_retried_on_another_route(executor: str | Executor, tmp_path: Path) -> None:
    app = app_with(executor, *retry_specs(second_fails=False))
    assert app.route("fa", "fd").formats == ["fa", "fd"]  # the broken one is the cheapest
    events: list[Event] = []
    result = app.convert(fake(tmp_path, "x.fa"), to="fd").run(on_event=events.append)
    assert result.read_bytes().decode() == "FAKE:fd\nhello\n"
    assert [e.converter for e in events if e.kind is EventKind.STEP_FAILED] == ["fake.bad:fa->fd"]
    assert [e.converter for e in events if e.kind is EventKind.STEP_FINISHED] == [
        "fake.test:fa->fb",
        "fake.other:fb->fd",
    ]


def test_when_every_route_fails_all_attempts_are_listed(tmp_path: Path) -> None:
    app = app_with("inline", *retry_specs(second_fails=True))
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run()
    assert info.value.code == "CONVERSION_FAILED"
    attempts = info.value.details["attempts"]
    assert [a["converter"] for a in attempts] == ["fake.bad:fa->fd", "fake.other:fb->fd"]
    assert [a["route"] for a in attempts] == ["fa → fd", "fa → fb → fd"]
    assert all(a["code"] == "CONVERSION_FAILED" and "x.f" in a["message"] for a in attempts)
    assert not any("boom" in a["message"] for a in attempts)


def judge_final(request: ConversionRequest) -> list[Output]:
    """Fail as a converter does that judged the input itself (a page that answered 404)."""
    raise ConversionFailed(f"{request.input.name}: the page answered HTTP 404", status=404, final=True)


def test_a_final_failure_is_not_retried_on_another_route(tmp_path: Path) -> None:
    judging = own("fa", "fd", "judge_final")
    app = make_conversio(FakePlugin(judging, spec("fa", "fb"), spec("fb", "fd")), executor="inline")
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run()
    assert (info.value.code, info.value.details["status"]) == ("CONVERSION_FAILED", 404)
    assert "attempts" not in info.value.details and "HTTP 404" in info.value.message


def test_bad_input_is_not_retried(tmp_path: Path) -> None:
    app = app_with("inline", spec("fa", "fd"), spec("fa", "fb"), spec("fb", "fd"))
    broken = tmp_path / "x.fa"
    broken.write_text("not a fake file")
    artifact = app.store.put_file(broken, name="x.fa", format="fa")  # stored as fa, unsniffed
    events: list[Event] = []
    with pytest.raises(ConversioError) as corrupt:
        app.convert(artifact, to="fd").run(on_event=events.append)
    assert corrupt.value.code == "CORRUPT_FILE"
    assert kinds(events).count(EventKind.STEP_STARTED) == 1


def test_a_missing_engine_is_missing_dependency_with_its_install_hint(tmp_path: Path) -> None:
    missing = attrs.evolve(
        spec("fa", "fd"),
        run="conversio_no_such_engine.module:convert",
        install_hint="pip install no-such-engine",
    )
    app = app_with("inline", missing)
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fd").run()
    assert info.value.code == "MISSING_DEPENDENCY"
    assert info.value.details["install_hint"] == "pip install no-such-engine"
    assert info.value.details["module"] == "conversio_no_such_engine"
    assert "pip install no-such-engine" in info.value.message


def test_a_missing_engine_falls_back_to_another_route_with_a_warning(tmp_path: Path) -> None:
    missing = attrs.evolve(spec("fa", "fd"), run="conversio_no_such_engine.module:convert")
    app = app_with("inline", missing, spec("fa", "fb"), spec("fb", "fd"))
    result = app.convert(fake(tmp_path, "x.fa"), to="fd").run()
    assert result.read_bytes().decode() == "FAKE:fd\nhello\n"
    assert result.warnings == (
        "x.fa: fa → fd failed (fake.test:fa->fd needs conversio_no_such_engine, which is not installed); "
        "converted through fa → fb → fd instead",
    )


# -- options and requests ------------------------------------------------------------------------


def test_unknown_option_lists_the_valid_ones(tmp_path: Path) -> None:
    level = Option("level", "int", default=1, min=0, max=9)
    app = app_with("inline", spec("fa", "fb", options=OptionsSchema.of(level, SUFFIX)), spec("fb", "fc"))
    events: list[Event] = []
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fc", options={"qualty": 5}).run(on_event=events.append)
    assert info.value.code == "INVALID_OPTION"
    assert info.value.details == {"options": ["qualty"], "valid": ["level", "suffix"]}
    assert "valid options: level, suffix" in info.value.message
    assert EventKind.STEP_STARTED not in kinds(events), "a step ran before the options were checked"


@pytest.mark.parametrize(
    ("value", "code"), [(12, "INVALID_OPTION"), ("-1", "INVALID_OPTION"), ("x", "INVALID_OPTION")]
)
def test_out_of_range_option(tmp_path: Path, value: object, code: str) -> None:
    level = Option("level", "int", default=1, min=0, max=9)
    app = app_with("inline", spec("fa", "fb", options=OptionsSchema.of(level)))
    with pytest.raises(ConversioError) as info:
        app.convert(fake(tmp_path, "x.fa"), to="fb", options={"level": value}).run()
    assert info.value.code == code
    assert info.value.details["option"] == "level"
    assert info.value.details["expected"]["max"] == 9


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [
        (Option("n", "int", min=1, max=10), " 7 ", 7),
        (Option("n", "int"), "7", 7.0),  # a JSON 7.0 is the int 7
        (Option("x", "float", min=0, max=1), "0.25", 0.25),
        (Option("x", "float"), "1", 1),
        (Option("b", "bool"), "yes", True),
        (Option("b", "bool"), "off", False),
        (Option("l", "list"), "a, b,,c", ["a", "b", "c"]),
        (Option("c", "str", choices=("fast", "slow")), "slow", "slow"),
    ],
)
def test_cli_strings_and_json_values_parse_alike(option: Option, text: str, value: object) -> None:
    assert option.parse(text) == option.parse(value)
    assert type(option.parse(text)) is type(option.parse(value))


@pytest.mark.parametrize(
    ("option", "text", "value"),
    [
        (Option("n", "int", min=1, max=10), "11", 11),
        (Option("n", "int", min=1, max=10), "0", 0),
        (Option("n", "int"), "7.5", 7.5),
        (Option("x", "float", max=1), "1.5", 1.5),
        (Option("b", "bool"), "maybe", "maybe"),
        (Option("c", "str", choices=("fast", "slow")), "medium", "medium"),
    ],
)
def test_cli_strings_and_json_values_are_rejected_alike(option: Option, text: str, value: object) -> None:
    errors = []
    for given in (text, value):
        with pytest.raises(ConversioError) as info:
            option.parse(given)
        errors.append(info.value)
    assert [e.code for e in errors] == ["INVALID_OPTION", "INVALID_OPTION"]
    assert errors[0].details["expected"] == errors[1].details["expected"]


def test_bool_is_not_a_number() -> None:
    with pytest.raises(ConversioError) as info:
        Option("n", "int").parse(True)
    assert info.value.code == "INVALID_OPTION"


def test_secret_option_value_is_never_shown() -> None:
    with pytest.raises(ConversioError) as info:
        Option("password", "str", choices=("a",), secret=True).parse("hunter2")
    assert "hunter2" not in str(info.value) and info.value.details["value"] == "***"


def test_unknown_step_is_invalid_request(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    conversion = app.convert(fake(tmp_path, "x.fa"), to="fb")
    with pytest.raises(ConversioError) as info:
        conversion.then("sharpen")
    assert info.value.code == "INVALID_REQUEST"
    assert info.value.details["step"] == "sharpen"


def test_nothing_to_do_is_invalid_request(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    for conversion in (app.convert([], to="fb"), app.convert(fake(tmp_path, "x.fa"))):
        with pytest.raises(ConversioError) as info:
            conversion.run()
        assert info.value.code == "INVALID_REQUEST"


# -- storing results ---------------------------------------------------------------------------


class DigestRecordingStore(FilesystemStore):
    """A filesystem store that keeps the digest the engine passed with each file it stored."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, durable=False)
        self.digests: dict[str, Digest | None] = {}

    def put_file(self, path: Path, *, name: str, digest: Digest | None = None, **kwargs: Any) -> Artifact:
        self.digests[name] = digest
        return super().put_file(path, name=name, digest=digest, **kwargs)


@pytest.mark.parametrize("grow", [False, True])
def test_outputs_written_through_write_are_hashed_by_the_engine_as_the_worker_writes(
    pool: ProcessPoolExecutor, tmp_path: Path, grow: bool
) -> None:
    store = DigestRecordingStore(tmp_path / "store")
    streaming = own(
        "fa", "fb", "stream_lines", cardinality=MANY, options=OptionsSchema.of(Option("grow", "bool"))
    )
    app = make_conversio(FakePlugin(streaming), executor=pool, store=store, cache=False)
    result = app.convert(fake(tmp_path, "x.fa", "a\nb\nc"), to="fb", options={"grow": grow}).run()
    assert [a.name for a in result.artifacts] == ["part-1.fb", "part-2.fb", "part-3.fb"]
    for artifact, line in zip(result.artifacts, "abc", strict=True):
        content = store.open(artifact.id).read()
        written = b"FAKE:fb\n" + line.encode() * 40_000 + b"\n"
        assert content == written + (b"late\n" if grow else b"")
        assert artifact.sha256 == hashlib.sha256(content).hexdigest()
        # the engine hashed each file until the next one was started (the last: until the task
        # ended); a digest that misses what came later has the wrong size, and the store hashed again
        hashed = content if artifact is result.artifacts[-1] else written
        assert store.digests[artifact.name] == Digest(hashlib.sha256(hashed).hexdigest(), len(hashed))


def test_an_inline_executor_leaves_the_hashing_to_the_store(tmp_path: Path) -> None:
    store = DigestRecordingStore(tmp_path / "store")
    app = make_conversio(FakePlugin(own("fa", "fb", "stream_lines", cardinality=MANY)), store=store)
    result = app.convert(fake(tmp_path, "x.fa", "a"), to="fb").run()
    content = result.read_bytes()
    assert result.artifacts[0].sha256 == hashlib.sha256(content).hexdigest()
    assert store.digests["part-1.fb"] is None


# -- saving results ---------------------------------------------------------------------------


def test_bundle_is_saved_into_a_folder(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    result = app.convert(fake(tmp_path, "x.fa", "1\n2\n3"), to="fd").run()
    saved = result.save(tmp_path / "out")
    assert saved == [tmp_path / "out" / f"x-00{n}.fd" for n in (1, 2, 3)]
    assert [p.read_text() for p in saved] == [f"FAKE:fd\n{n}\n" for n in (1, 2, 3)]


def test_same_names_in_a_bundle_are_made_unique(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    inputs = [
        fake(tmp_path, "a/x.fa", "first"),
        fake(tmp_path, "b/x.fa", "second"),
        fake(tmp_path, "X.fa", "third"),
    ]
    saved = app.convert(inputs, to="fb").save(tmp_path / "out")
    assert [p.name for p in saved] == ["x.fb", "x (2).fb", "X (3).fb"]
    assert [p.read_text() for p in saved] == ["FAKE:fb\nfirst\n", "FAKE:fb\nsecond\n", "FAKE:fb\nthird\n"]


def test_single_result_to_a_file_or_into_a_folder(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    result = app.convert(fake(tmp_path, "x.fa"), to="fb").run()
    assert result.save(tmp_path / "named.out") == [tmp_path / "named.out"]
    (tmp_path / "existing").mkdir()
    assert result.save(tmp_path / "existing") == [tmp_path / "existing" / "x.fb"]
    assert result.save(f"{tmp_path}/new/") == [tmp_path / "new" / "x.fb"]
    for path in (tmp_path / "named.out", tmp_path / "existing" / "x.fb", tmp_path / "new" / "x.fb"):
        assert path.read_text() == "FAKE:fb\nhello\n"
    assert not list(tmp_path.rglob("*.part")), "a temporary file was left behind"


def hog_memory(request: ConversionRequest) -> list[Output]:
    """Ask for far more memory than the cap allows."""
    hog = bytearray(int(request.options["megabytes"]) * 1024 * 1024)
    del hog
    return relabel(request)


def test_memory_cap_stops_a_hungry_converter(tmp_path: Path) -> None:
    hungry = own("fa", "fb", "hog_memory", options=OptionsSchema.of(Option("megabytes", "int", default=0)))
    with make_conversio(
        FakePlugin(hungry), executor="process", workers=1, limits=Limits(max_memory=512 * 1024 * 1024)
    ) as app:
        with pytest.raises(ConversioError) as info:
            app.convert(fake(tmp_path, "x.fa"), to="fb", options={"megabytes": 2048}).run()
        assert info.value.code == "FILE_TOO_LARGE"
        # the cap is lifted after the task: the same worker converts a modest request
        done = app.convert(fake(tmp_path, "y.fa"), to="fb", options={"megabytes": 64}).run()
        assert done.read_bytes().decode() == "FAKE:fb\nhello\n"


def test_a_failing_converter_inside_a_reroute_is_avoided_on_retry(tmp_path: Path) -> None:
    broken = spec("fa", "fd", "explode")  # the cheapest way for a member, but it fails
    app = app_with("inline", broken, spec("fa", "fb"), spec("fb", "fd"), spec("fc", "fd"))
    result = app.convert([fake(tmp_path, "x.fa"), fake(tmp_path, "y.fc")], to="fd").run()
    assert [a.name for a in result.artifacts] == ["x.fd", "y.fd"]
    [warning] = result.warnings
    assert warning.startswith("x.fa and y.fc: fa → fd failed (")
    assert warning.endswith("converted through members → fd instead")


def test_unknown_executor_is_an_invalid_request() -> None:
    with pytest.raises(ConversioError) as info:
        make_conversio(executor="threads")
    assert info.value.code == "INVALID_REQUEST"


def test_plan_shows_the_routes_and_stores_nothing(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    plan = app.convert(fake(tmp_path, "x.fa", "one\ntwo"), to="fd").then("fc").plan()
    assert [[leg.source, *(step.target for step in leg.steps)] for leg in plan] == [
        ["fa", "fb", "fc", "fd"],
        ["fd", "fc"],
    ]
    assert len(plan.steps) == 4
    assert list(app.store.list()) == []


def test_a_run_follows_its_plan_without_planning_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_conversio(chain_plugin(), cache=False)
    conversion = app.convert(fake(tmp_path, "x.fa", "one\ntwo"), to="fd").then("fc")
    plan = conversion.plan()
    planned: list[str] = []
    leg = app.engine.planner.leg
    monkeypatch.setattr(
        app.engine.planner, "leg", lambda stages, *args: planned.append(stages[0]) or leg(stages, *args)
    )
    events: list[Event] = []
    result = conversion.run(plan=plan, on_event=events.append)
    assert planned == []
    assert [e.message for e in events if e.kind is EventKind.STEP_STARTED] == [
        step.describe() for step in plan.steps
    ]
    assert result.read_bytes().decode() == "FAKE:fc\none\ntwo\n"
    # without a plan, each stage is planned as it comes
    conversion.run()
    assert [stage.target for stage in planned] == ["fd", "fc"]


def test_a_plan_is_followed_only_where_the_files_are_what_it_expected(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin(), cache=False)
    expected = app.convert(fake(tmp_path, "x.fa"), to="fd").plan()
    # the same stages for a file of another format: planned again, from what it is
    result = app.convert(fake(tmp_path, "y.fb"), to="fd").run(plan=expected)
    assert len(result.steps) == 2
    with pytest.raises(ConversioError) as other:
        app.convert(fake(tmp_path, "z.fa"), to="fc").run(plan=expected)
    assert other.value.code == "INVALID_REQUEST"


def test_no_route_says_what_the_users_file_was_taken_for(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    conversion = app.convert(fake(tmp_path, "y.fb"), to="fa")
    for attempt in (conversion.plan, conversion.run):
        with pytest.raises(ConversioError) as info:
            attempt()
        assert info.value.code == "NO_ROUTE"
        assert info.value.message.startswith("y.fb (taken as fake fb, fb): no route from fb to fa")
    # each file of a mixed lot on its own
    with pytest.raises(ConversioError) as mixed:
        app.convert([fake(tmp_path, "x.fa"), fake(tmp_path, "y.fb")], to="fa").run()
    assert mixed.value.message.startswith("y.fb (taken as fake fb, fb): no route from fb to fa")
    # files a step made are named as they are
    with pytest.raises(ConversioError) as made:
        app.convert(fake(tmp_path, "x.fa", "one\ntwo"), to="fd").then("fa").run()
    assert made.value.message.startswith("x-001.fd and x-002.fd: no route from fd to fa")


@pytest.mark.parametrize(
    ("value", "cached"), [("0", False), ("off", False), ("FALSE", False), ("1", True), ("", True)]
)
def test_the_environment_turns_the_result_cache_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, cached: bool
) -> None:
    monkeypatch.setenv("CONVERSIO_CACHE", value)
    app = app_with("inline", spec("fa", "fb"))
    src = fake(tmp_path, "x.fa")
    app.convert(src, to="fb").run()
    events: list[Event] = []
    app.convert(src, to="fb").run(on_event=events.append)
    assert (EventKind.STEP_CACHED in kinds(events)) is cached
    assert app_with("inline", cache=True).engine.cache.enabled  # an explicit choice wins


def test_what_converts_to_what(tmp_path: Path) -> None:
    app = make_conversio(chain_plugin())
    assert app.sources_for("fd") == ["fa", "fb", "fc"]
    assert app.targets("fa") == ["fb", "fc", "fd"]
    assert app.targets() == ["fb", "fc", "fd"]
    assert app.media_type("pdf") == "application/pdf"
    assert app.media_type("no-such-format") == "application/octet-stream"
    conversion = app.convert(fake(tmp_path, "x.fa"), to="fd").then("fc")
    assert [stage.label for stage in conversion.stages] == ["fd", "fc"]
    assert app_with("inline", *OPERATIONS).convert([]).then("join").stages[0].label == "join"


# -- what the engine refuses to do with a file -----------------------------------------------------


class Judge:
    """A plugin that judges one format, as ``confirm_format`` does, recording what it was asked."""

    def __init__(self, fmt: str, answer: bool) -> None:
        self.fmt, self.answer, self.asked = fmt, answer, []  # type: list[str]

    @hookimpl
    def confirm_format(self, path: Path, format: str) -> bool | None:
        self.asked.append(format)
        return self.answer if format == self.fmt else None


def text_renderer(*plugins: object) -> Conversio:
    """txt → pdf → png with stamping converters (real formats, fake engines)."""
    specs = FakePlugin(own("txt", "pdf", "stamp"), own("pdf", "png", "stamp"), formats=())
    return make_conversio(specs, *plugins, executor="inline")


@pytest.mark.parametrize("name", ["README", "notes.weird"])
def test_text_known_only_by_its_content_is_not_rendered_into_a_picture(tmp_path: Path, name: str) -> None:
    app = text_renderer()
    path = tmp_path / name
    path.write_text("file 'a.mp4'\nfile 'b.mp4'\n")
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="png").run()
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert info.value.message.startswith(f"{name} is plain text, not image")
    assert not any(a.format in ("pdf", "png") for a in app.store.list())


def test_text_is_rendered_when_its_name_says_text_or_the_route_is_asked_for(tmp_path: Path) -> None:
    app = text_renderer()
    declared = tmp_path / "notes.txt"
    declared.write_text("hello\n")
    assert app.convert(declared, to="png").run().read_bytes() == b"pdf -> png\n"
    unnamed = tmp_path / "README"
    unnamed.write_text("hello\n")
    assert app.convert(unnamed, to="png", via=["pdf"]).run().read_bytes() == b"pdf -> png\n"
    assert app.convert(unnamed, to="pdf").run().read_bytes() == b"txt -> pdf\n"  # a document: fine


PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_file_passed_on_under_another_name_must_not_be_denied_by_its_plugin(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(PNG_BYTES)
    denied = Judge("png", False)
    with pytest.raises(ConversioError) as info:
        text_renderer(denied).convert(path, to="png").run()
    assert info.value.code == "FORMAT_MISMATCH" and info.value.details["file"] == "photo.jpg"
    assert denied.asked == ["png"]
    for judge in (Judge("png", True), Judge("gif", False)):  # confirmed, or nobody judges png
        result = text_renderer(judge).convert(path, to="png").run()
        assert result.read_bytes() == PNG_BYTES
        assert result.warnings == ("photo.jpg: the name says jpg but the content is png; using png",)


def test_each_input_says_which_users_file_it_was_made_from(executor: str | Executor, tmp_path: Path) -> None:
    """Pages of x.fa, converted one by one, are still x.fa's when a later step packs them."""
    app = app_with(
        executor,
        spec("fa", "fb", "split_lines", cardinality=MANY),
        spec("fb", "fc"),
        own("fc", "fd", "join_origins", cardinality=PACK),
    )
    one = app.convert(fake(tmp_path, "x.fa", "1\n2\n3"), to="fd").run()
    assert one.read_bytes().decode() == "FAKE:fd\nx.fa,x.fa,x.fa\n"
    two = app.convert([fake(tmp_path, "a.fa", "1\n2"), fake(tmp_path, "b.fa", "3")], to="fd").run()
    assert two.read_bytes().decode() == "FAKE:fd\na.fa,a.fa,b.fa\n"


def test_a_refusal_of_an_intermediate_file_names_the_users_file(tmp_path: Path) -> None:
    from conversio.testing.fakes import FakePlugin, spec, write_fake

    app = make_conversio(FakePlugin(spec("fa", "fb"), spec("fb", "fc", "refuse")))
    try:
        with pytest.raises(ConversioError) as refused:
            app.convert(write_fake(tmp_path / "letter.fa", "fa"), to="fc").run()
    finally:
        app.close()
    assert refused.value.code == "CORRUPT_FILE"
    assert refused.value.message == "letter.fb (made from letter.fa) cannot be read"
    assert str(refused.value) == "CORRUPT_FILE: letter.fb (made from letter.fa) cannot be read"


def test_an_engine_killed_by_a_signal_is_a_crash_the_engine_retries() -> None:
    from conversio.errors import engine_stopped

    error = engine_stopped("converting a.md to html", "Pandoc", 9, file="a.md")
    assert (error.code, error.message) == (
        "CONVERSION_FAILED",
        "converting a.md to html: Pandoc stopped unexpectedly (signal 9)",
    )
    assert error.details == {"crashed": True, "signal": 9, "file": "a.md"}
