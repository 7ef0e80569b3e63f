"""The bridge's stdout carries its answers only: whatever UNO writes there goes to stderr.

The real bridge script runs here with a stand-in ``uno`` module that writes to file
descriptor 1 and through ``print`` when it is imported and on every call, the way
LibreOffice's libraries and pyuno do; no LibreOffice is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conversio_office import soffice

NOISY_UNO = """
import os

def _noise(what):
    os.write(1, b"uno noise written to fd 1 " + what.encode() + b"\\n")
    print("uno noise printed", what)

_noise("at import")

class _Desktop:
    def getImplementationName(self):
        _noise("on a call")
        return "desktop"

class _Manager:
    def createInstanceWithContext(self, name, context):
        return _Resolver() if name.endswith("UnoUrlResolver") else _Desktop()

class _Context:
    ServiceManager = _Manager()

class _Resolver:
    def resolve(self, url):
        return _Context()

def getComponentContext():
    return _Context()
"""


def test_uno_noise_stays_off_the_answer_channel(tmp_path: Path) -> None:
    (tmp_path / "uno.py").write_text(NOISY_UNO)
    runner = (
        f"import runpy, sys; sys.path.insert(0, {str(tmp_path)!r}); "
        f"runpy.run_path({str(soffice.BRIDGE)!r}, run_name='__main__')"
    )
    jobs = "".join(json.dumps({"action": "ping", "pipe": "p"}) + "\n" for _ in range(3))
    done = subprocess.run(
        [sys.executable, "-c", runner], input=jobs.encode(), capture_output=True, timeout=60, check=True
    )
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"ok": True}] * 3
    noise = done.stderr.decode()
    assert noise.count("uno noise written to fd 1") == 4 and noise.count("uno noise printed") == 4
