"""What a plugin's distribution says of itself: its version, and how to install what it needs.

The same rules hold for every plugin, first-party or not: a converter's install hint and cache
version default to its distribution's (``pip install conversio-yaml``, ``1.2.0``), and a
module a converter misses is looked up among the extras the distribution declares
(``pip install 'conversio-yaml[fast]'``).
"""

from __future__ import annotations

import re

import importlib_metadata

#: The ``conversio`` entry-point group: one entry point per plugin.
ENTRY_POINT_GROUP = "conversio"
#: Extras that never provide what a converter needs at run time.
_DEVELOPMENT_EXTRAS = frozenset({"test", "tests", "testing", "dev", "docs", "lint", "typing"})
_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def version(distribution: str) -> str:
    """The installed version of ``distribution`` ("" when it is not installed)."""
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return ""


def install_hint(distribution: str, module: str = "", *, otherwise: str = "") -> str:
    """How to install ``module`` for a plugin of ``distribution``: the distribution with the
    extra that provides it (``pip install 'conversio-yaml[fast]'``) when it declares one, else
    ``otherwise``, else ``pip install <distribution>`` ("" without a distribution)."""
    extra = _extra_providing(distribution, module) if distribution and module else None
    if extra:
        return f"pip install '{distribution}[{extra}]'"
    return otherwise or (f"pip install {distribution}" if distribution else "")


def of_module(module: str) -> str:
    """The distribution whose ``conversio`` entry point lives in the top-level package of
    ``module`` ("" when none does): the plugin that names ``module`` in a ``run=``."""
    top = module.split(".", 1)[0]
    for entry in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.module.split(".", 1)[0] == top and entry.dist is not None:
            return str(entry.dist.name)
    return ""


def _extra_providing(distribution: str, module: str) -> str | None:
    """The extra of ``distribution`` whose requirement provides the import ``module`` (by the
    usual naming: ``yaml`` is ``yaml``, ``pyyaml`` or ``python-yaml``)."""
    try:
        requires = importlib_metadata.distribution(distribution).requires or []
    except importlib_metadata.PackageNotFoundError:
        return None
    wanted = _normal(module.split(".", 1)[0])
    names = {wanted, "py" + wanted, "python" + wanted}
    for requirement in requires:
        name, extra = _REQUIREMENT_NAME.match(requirement), _EXTRA_MARKER.search(requirement)
        if name and extra and extra.group(1) not in _DEVELOPMENT_EXTRAS and _normal(name.group(1)) in names:
            return extra.group(1)
    return None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "", name).lower()
