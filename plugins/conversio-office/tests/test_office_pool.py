"""The warm pool in conversio's worker processes: one soffice per worker, reused, replaced, never leaked."""

from __future__ import annotations

import glob
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conversio_office import soffice
from conversio_office.soffice import office
from office_samples import sample_file

import conversio
from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

PLUGIN = "conversio_office.plugin"
_OWNER = re.compile(r"name=conversio-office-(\d+)-")


def soffices() -> dict[int, int]:
    """pid of every conversio soffice.bin -> pid of the process that started it."""
    found = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        match = _OWNER.search(cmdline)
        if proc.info["name"] == "soffice.bin" and match:
            found[proc.pid] = int(match.group(1))
    return found


def ours(parent: int) -> set[int]:
    """soffice pids started by a child (a worker) of ``parent``."""
    children = {p.pid for p in psutil.Process(parent).children()}
    return {pid for pid, owner in soffices().items() if owner in children}


def gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> Iterator[conversio.Conversio]:
    """One worker process whose soffice is replaced every 3 conversions."""
    monkeypatch.setenv("CONVERSIO_OFFICE_MAX_CONVERSIONS", "3")
    app = make_conversio(PLUGIN, executor="process", workers=1, cache=False)
    yield app
    app.close()


def timed(app: conversio.Conversio, path: Path) -> float:
    start = time.monotonic()
    [artifact] = app.convert(path, to="pdf").run().artifacts
    assert app.store.open(artifact.id).read(5) == b"%PDF-"
    return time.monotonic() - start


def test_warm_reuse_restart_and_replacement(pooled: conversio.Conversio, tmp_path: Path) -> None:
    sample = sample_file("odt", tmp_path)
    cold = timed(pooled, sample)
    [first] = ours(os.getpid())
    warm = timed(pooled, sample)
    assert ours(os.getpid()) == {first}
    assert warm < cold / 2, f"second conversion {warm:.2f} s, first {cold:.2f} s: not warm"

    timed(pooled, sample)  # the third and last conversion of this soffice
    timed(pooled, sample)
    [second] = ours(os.getpid())
    assert second != first and gone_within({first}, 5)

    os.kill(second, signal.SIGKILL)
    assert gone_within({second}, 5)
    timed(pooled, sample)
    [third] = ours(os.getpid())
    assert third != second


def test_timeout_leaves_no_soffice_behind(tmp_path: Path) -> None:
    app = make_conversio(PLUGIN, executor="process", workers=1, cache=False, limits=Limits(timeout=4))
    try:
        timed(app, sample_file("odt", tmp_path))
        started = ours(os.getpid())
        assert len(started) == 1
        [worker] = {soffices()[pid] for pid in started}
        big = tmp_path / "big.csv"
        big.write_text("\n".join(",".join(f"cell {r} {c}" for c in range(12)) for r in range(150_000)))
        with pytest.raises(ConversioError) as info:
            app.convert(big, to="pdf").run()
        assert info.value.code == "TIMEOUT"
        assert gone_within(started, 5), "the killed worker's soffice is still running"
        assert glob.glob(f"/tmp/conversio-office-{worker}-*")  # the killed worker could not clean up
        assert timed(app, sample_file("odt", tmp_path)) > 0  # a new worker, a new soffice...
        assert not glob.glob(f"/tmp/*conversio-office-{worker}-*")  # ...which swept the leftovers
    finally:
        app.close()
    assert gone_within(started, 1)


def test_inline_timeout_stops_soffice(tmp_path: Path) -> None:
    """Without worker processes the bridge's own timeout applies, and soffice is killed with it."""
    app = make_conversio(PLUGIN, cache=False, limits=Limits(timeout=3))
    try:
        timed(app, sample_file("odt", tmp_path))
        pid = office().pid
        assert pid is not None
        big = tmp_path / "big.csv"
        big.write_text("\n".join(",".join(f"cell {r} {c}" for c in range(12)) for r in range(150_000)))
        with pytest.raises(ConversioError) as info:
            app.convert(big, to="pdf").run()
        assert info.value.code == "TIMEOUT"
        assert gone_within({pid}, 5)
    finally:
        app.close()


def test_closing_the_pool_stops_soffice(tmp_path: Path) -> None:
    app = make_conversio(PLUGIN, executor="process", workers=2, cache=False)
    timed(app, sample_file("odt", tmp_path))
    started = ours(os.getpid())
    assert len(started) == 1
    app.close()
    assert gone_within(started, 10)


def test_dead_bridge_is_replaced_with_its_soffice(app: conversio.Conversio, tmp_path: Path) -> None:
    sample = sample_file("odt", tmp_path)
    timed(app, sample)
    warm = office()
    soffice_pid, bridge_pid = warm.pid, warm.bridge_pid
    assert soffice_pid is not None and bridge_pid is not None
    timed(app, sample)
    assert (warm.pid, warm.bridge_pid) == (soffice_pid, bridge_pid)  # one bridge, kept between documents
    os.kill(bridge_pid, signal.SIGKILL)
    assert gone_within({bridge_pid}, 5)
    timed(app, sample)
    assert warm.bridge_pid not in (None, bridge_pid) and warm.pid != soffice_pid
    assert gone_within({soffice_pid}, 5)


def test_an_endless_answer_is_cut_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A bridge that answers without end is read only up to the cap, then replaced."""
    flood = tmp_path / "flood.py"
    flood.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    if 'ping' in line:\n"
        "        print('{\"ok\": true}', flush=True)\n"
        "    else:\n"
        "        while True:\n"
        "            sys.stdout.write('x' * 65536)\n"
    )
    monkeypatch.setattr(soffice, "BRIDGE", flood)
    bare = soffice.Office()
    try:
        start = time.monotonic()
        answer = bare.run({"action": "convert"}, timeout=30)
        assert answer["error"] == "FAILED" and "longer than" in answer["message"]
        assert time.monotonic() - start < 20
        assert bare.process is None and bare.bridge is None  # both stopped after the failure
    finally:
        bare.stop()


def _bridge_failing_its_first_starts(tmp_path: Path, failures: int) -> Path:
    """A bridge that answers every job with NO_CONNECTION the first ``failures`` times it is started,
    and is the real bridge after that."""
    script = tmp_path / "flaky_bridge.py"
    script.write_text(
        "import pathlib, runpy, sys\n"
        f"starts = pathlib.Path({str(tmp_path / 'starts')!r})\n"
        "starts.write_text(starts.read_text() + 'x' if starts.exists() else 'x')\n"
        f"if len(starts.read_text()) <= {failures}:\n"
        "    for line in sys.stdin:\n"
        '        print(\'{"error": "NO_CONNECTION", "message": "not yet"}\', flush=True)\n'
        f"runpy.run_path({str(soffice.BRIDGE)!r}, run_name='__main__')\n"
    )
    return script


def test_a_failed_first_ping_gets_one_more_fresh_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(soffice, "BRIDGE", _bridge_failing_its_first_starts(tmp_path, 1))
    bare = soffice.Office()
    try:
        bare.ensure()
        assert (tmp_path / "starts").read_text() == "xx"
        assert bare.starts == 1 and bare.alive()
        assert bare.run({"action": "ping"}, timeout=30) == {"ok": True}
    finally:
        bare.stop()


def test_two_failed_starts_give_up_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(soffice, "BRIDGE", _bridge_failing_its_first_starts(tmp_path, 2))
    bare = soffice.Office()
    try:
        with pytest.raises(ConversioError) as caught:
            bare.ensure()
        assert caught.value.code == "CONVERSION_FAILED" and "not yet" in caught.value.message
        assert (tmp_path / "starts").read_text() == "xx"
        assert bare.process is None and bare.bridge is None and bare.profile is None
    finally:
        bare.stop()
