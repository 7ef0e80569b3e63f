"""The first step reads a caller's file in place while the store takes its copy.

Converters of this module run as ``test_early_start:<function>`` (the worker
processes import this module from the same ``sys.path``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

import conversio.api
from conversio.api import Conversio
from conversio.converters import ConversionRequest, ConverterSpec, Output, with_extension
from conversio.engine.early import EARLY_START_BYTES
from conversio.engine.executors import ProcessPoolExecutor
from conversio.events import Event, EventKind
from conversio.options import Option, OptionsSchema
from conversio.stores.base import Artifact
from conversio.stores.memory import MemoryStore
from conversio.testing import make_conversio
from conversio.testing.fakes import FakePlugin, relabel, spec, write_fake

FLAG = OptionsSchema.of(Option("flag", "str", default=""))


def record_path(request: ConversionRequest) -> list[Output]:
    """Write the path the converter was given to read."""
    out = request.output(with_extension(request.input.name, request.target))
    out.path.write_text(f"FAKE:{request.target}\n{request.input.path}\n")
    return [out]


def record_path_then_change(request: ConversionRequest) -> list[Output]:
    """Record the path; then, reading the file named ``flag`` in place, change it (another writer)."""
    outputs = record_path(request)
    if request.input.path == Path(request.options["flag"]):
        with request.input.path.open("a") as caller:
            caller.write("changed\n")
    return outputs


def slow_if_flag(request: ConversionRequest) -> list[Output]:
    """Relabel, after 30 s when the file ``flag`` exists (``flag.started`` tells it began)."""
    flag = Path(request.options["flag"])
    if flag.exists():
        flag.with_suffix(".started").touch()
        time.sleep(30)
    return relabel(request)


def own(fn: str, **kwargs: Any) -> ConverterSpec:
    return attrs.evolve(spec("fa", "fb", **kwargs), run=f"{__name__}:{fn}")


class SlowToStore(MemoryStore):
    """A store that, once ``slow``, takes a caller's file only when ``marker`` exists (at most 10 s)."""

    def __init__(self, marker: Path) -> None:
        super().__init__()
        self.marker = marker
        self.slow = False

    def put_file(
        self, path: Path, *, name: str, format: str, ttl: float | None = None, move: bool = False, **more: Any
    ) -> Artifact:
        deadline = time.monotonic() + 10
        while self.slow and not move and not self.marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return super().put_file(path, name=name, format=format, ttl=ttl, move=move, **more)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    shared = ProcessPoolExecutor(2)
    yield shared
    shared.close()


def stored_input(app: Conversio, name: str) -> bytes:
    [artifact] = [a for a in app.store.list() if a.name == name]
    with app.store.open(artifact.id) as stream:
        content = stream.read()
    assert hashlib.sha256(content).hexdigest() == artifact.sha256
    return content


@pytest.mark.parametrize("cache", [False, True])
def test_without_the_cache_the_first_step_reads_the_callers_file(
    pool: ProcessPoolExecutor, tmp_path: Path, cache: bool
) -> None:
    app = make_conversio(FakePlugin(own("record_path")), executor=pool, cache=cache)
    source = write_fake(tmp_path / "x.fa", "fa")
    result = app.convert(source, to="fb").run()
    read_from = Path(result.read_bytes().decode().split("\n")[1])
    # no cache to ask: no reason to wait for the copy; with a cache (small input) the step
    # waits for the stored copy, whose hash may find a result made before
    assert (read_from == source) is not cache
    assert stored_input(app, "x.fa") == source.read_bytes()  # stored all the same


@pytest.mark.parametrize("cache", [False, True])
def test_a_file_the_caller_stores_itself_follows_the_same_rule(
    pool: ProcessPoolExecutor, tmp_path: Path, cache: bool
) -> None:
    app = make_conversio(FakePlugin(own("record_path")), executor=pool, cache=cache)
    upload = write_fake(tmp_path / "upload-1234", "fa")  # a server's scratch file, named by its client
    with ThreadPoolExecutor(1) as storing:
        [arriving] = app.arriving([upload], names=["report.fa"], pool=storing, owned=True)
        assert [leg.target for leg in app.convert(arriving, to="fb").plan()] == ["fb"]
        result = app.convert(arriving, to="fb").run()
    read_from = Path(result.read_bytes().decode().split("\n")[1])
    assert (read_from == upload) is not cache
    assert result.artifact.name == "report.fb"
    assert stored_input(app, "report.fa") == upload.read_bytes()


def test_a_file_changed_while_read_in_place_is_converted_again_from_its_stored_copy(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    app = make_conversio(FakePlugin(own("record_path_then_change", options=FLAG)), executor=pool, cache=False)
    source = write_fake(tmp_path / "x.fa", "fa", "hello")
    result = app.convert(source, to="fb", options={"flag": str(source)}).run()
    assert source.read_text() == "FAKE:fa\nhello\nchanged\n"
    assert Path(result.read_bytes().decode().split("\n")[1]) != source  # made again, from the copy
    assert stored_input(app, "x.fa").startswith(b"FAKE:fa\nhello\n")
    assert [a.name for a in app.store.list() if a.format == "fb"] == ["x.fb"]  # the first result is gone


def test_a_cached_result_stops_the_step_started_early(pool: ProcessPoolExecutor, tmp_path: Path) -> None:
    flag = tmp_path / "slow"
    store = SlowToStore(flag.with_suffix(".started"))  # the copy is done once the step has begun
    app = make_conversio(FakePlugin(own("slow_if_flag", options=FLAG)), executor=pool, store=store)
    # big enough to start before its hash is known, even with the cache on
    source = write_fake(tmp_path / "x.fa", "fa", "x" * EARLY_START_BYTES)
    first = app.convert(source, to="fb", options={"flag": str(flag)}).run()
    flag.touch()  # from now on the converter takes 30 s
    store.slow = True
    events: list[Event] = []
    started = time.monotonic()
    again = app.convert(source, to="fb", options={"flag": str(flag)}).run(on_event=events.append)
    assert time.monotonic() - started < 10
    assert flag.with_suffix(".started").exists()  # it had started on the caller's file
    assert [e.kind for e in events if e.kind in (EventKind.STEP_CACHED, EventKind.STEP_FINISHED)] == [
        EventKind.STEP_CACHED,
        EventKind.STEP_FINISHED,
    ]
    assert [a.id for a in again.artifacts] == [a.id for a in first.artifacts]
    assert [a.name for a in app.store.list() if a.format == "fb"] == ["x.fb"]


def test_a_missing_input_is_reported_before_anything_runs(tmp_path: Path) -> None:
    app = make_conversio(FakePlugin(spec("fa", "fb")), cache=False)
    with pytest.raises(conversio.ConversioError) as info:
        app.convert([write_fake(tmp_path / "a.fa", "fa"), tmp_path / "gone.fa"], to="fb").run()
    assert info.value.code == "INVALID_REQUEST"
    assert "gone.fa" in info.value.message
    assert list(app.store.list()) == []  # every input is sniffed before any is stored


class FailingToStore(MemoryStore):
    """A store whose disk fills up while it copies a caller's file (results of steps still go in)."""

    def put_file(
        self, path: Path, *, name: str, format: str, ttl: float | None = None, move: bool = False, **more: Any
    ) -> Artifact:
        if not move:
            time.sleep(0.2)  # the step started on the caller's file finishes first
            raise OSError(28, "No space left on device")
        return super().put_file(path, name=name, format=format, ttl=ttl, move=move, **more)


def test_an_input_that_cannot_be_stored_takes_the_early_results_with_it(tmp_path: Path) -> None:
    store = FailingToStore()
    app = make_conversio(FakePlugin(own("record_path")), store=store, cache=False)
    with pytest.raises(OSError, match="No space left"):
        app.convert(write_fake(tmp_path / "x.fa", "fa"), to="fb").run()
    assert list(store.list()) == []  # the step's result, made from the caller's file, is gone too
