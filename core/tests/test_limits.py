"""Limits: each family's own step timeout unless one is set; engines' memory cap."""

from __future__ import annotations

import resource
import subprocess
import sys

from conversio.limits import FAMILY_TIMEOUTS, Limits, engine_preexec


def test_each_family_has_its_own_timeout_unless_one_is_set() -> None:
    limits = Limits()
    assert limits.timeout is None
    assert limits.step_timeout("office") == FAMILY_TIMEOUTS["office"] == 120
    assert limits.step_timeout("image") < limits.step_timeout("office") < 300
    assert limits.step_timeout("someone-elses-plugin") == 300
    assert limits.step_timeout("media", duration=10) == 80  # scaled to the input's duration
    assert limits.step_timeout("media", duration=10**6) == FAMILY_TIMEOUTS["media"]
    assert Limits(timeout=7).step_timeout("office") == 7  # the per-conversion override wins
    assert Limits.from_env({"CONVERSIO_TIMEOUT": "42.5"}).step_timeout("media", duration=5) == 42.5
    assert Limits.from_env({"CONVERSIO_MAX_ENGINE_MEMORY": "1000"}).max_engine_memory == 1000


def test_an_engine_gets_its_own_address_space_cap() -> None:
    show = "import resource; print(resource.getrlimit(resource.RLIMIT_AS)[0])"
    capped = subprocess.run(
        [sys.executable, "-c", show],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=engine_preexec(1024**3),
    )
    assert int(capped.stdout) == 1024**3
    uncapped = subprocess.run(
        [sys.executable, "-c", show], capture_output=True, text=True, check=True, preexec_fn=engine_preexec(0)
    )
    assert int(uncapped.stdout) == resource.getrlimit(resource.RLIMIT_AS)[1]
