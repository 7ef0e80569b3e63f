"""Build a ``Conversio`` for tests: no entry points, memory store, inline by default."""

from __future__ import annotations

import importlib
from typing import Any

from conversio.api import Conversio


def make_conversio(*plugins: str | object, executor: str = "inline", **kwargs: Any) -> Conversio:
    """A ``Conversio`` with only the built-in plugin and ``plugins``.

    A plugin is a module path (``"conversio_image.plugin"``) or an object with
    hook implementations.
    """
    named: dict[str, object] = {}
    for plugin in plugins:
        obj = importlib.import_module(plugin) if isinstance(plugin, str) else plugin
        named[getattr(obj, "__name__", type(obj).__name__)] = obj
    kwargs.setdefault("store", "memory://")
    return Conversio(plugins=named, autoload=False, executor=executor, **kwargs)
