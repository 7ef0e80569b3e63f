"""Build a ``Conversio`` for tests: no entry points, memory store, inline by default."""

from __future__ import annotations

import importlib
import itertools
from typing import Any

from conversio.api import Conversio
from conversio.engine.executors import Executor


def make_conversio(*plugins: str | object, executor: str | Executor = "inline", **kwargs: Any) -> Conversio:
    """A ``Conversio`` with only the built-in plugin and ``plugins``.

    A plugin is a module path (``"conversio_image.plugin"``) or an object with
    hook implementations; it is named after its module or class (``FakePlugin``,
    then ``FakePlugin-2`` for a second one).
    """
    named: dict[str, object] = {}
    for plugin in plugins:
        obj = importlib.import_module(plugin) if isinstance(plugin, str) else plugin
        name = base = getattr(obj, "__name__", type(obj).__name__)
        for n in itertools.count(2):
            if name not in named:
                break
            name = f"{base}-{n}"
        named[name] = obj
    kwargs.setdefault("store", "memory://")
    return Conversio(plugins=named, autoload=False, executor=executor, **kwargs)
