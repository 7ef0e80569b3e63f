"""The hooks a conversio plugin may implement.

A plugin is a module (or object) with functions decorated by
:data:`conversio.hookimpl`, published under the ``conversio`` entry-point group.
An implementation takes the arguments it needs, by their names here, and may leave out the
others.

Only :class:`conversio.plugins.PluginHost` calls these hooks, always through pluggy, so
pluggy's order (``tryfirst``, ``trylast``), wrappers and tracing hold. ``sniff_format`` and
``confirm_format`` are one call over every plugin. The others are called plugin by plugin,
so one plugin's failure is its own: a plugin whose ``register_*`` hook raises is listed as
broken and leaves nothing registered; an ``observe_event`` or ``register_commands`` hook that
raises is logged and the other plugins' still run. A wrapper of a plugin that implements
nothing else of a hook wraps every plugin's call of it.

A function marked as a hook whose name is no hook here, or that takes an argument no hook
here has, makes its plugin broken, with what to fix (fatal with ``CONVERSIO_STRICT_PLUGINS=1``).
``CONVERSIO_TRACE_HOOKS=1`` writes every hook call, its arguments and its result to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from conversio.events import Event
    from conversio.registry import ConverterRegistrar, FormatRegistrar, StoreRegistrar

PROJECT = "conversio"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_formats(formats: FormatRegistrar) -> None:
    """Declare formats: call ``formats.add(Format(...))`` for each.

    Formats are plain data (name, kind, extensions, media types, aliases and
    magic bytes); declaring one imports nothing.
    """


@hookspec
def register_converters(converters: ConverterRegistrar) -> None:
    """Declare converters and operations: ``converters.add(ConverterSpec(...))``.

    A spec names its function as ``"module:function"``; do not import engines
    here. ``converters.suggest(source, target, distribution)`` records which
    distribution would add a missing edge, for ``NO_ROUTE`` messages.
    """


@hookspec
def register_stores(stores: StoreRegistrar) -> None:
    """Declare artifact store backends: ``stores.add(scheme, factory)``.

    ``factory(url)`` returns an :class:`~conversio.stores.base.ArtifactStore`
    for URLs such as ``file:///srv/conversio`` or ``memory://``.
    """


@hookspec(firstresult=True)
def sniff_format(head: bytes, path: Path, name: str) -> str | None:
    """Name the format of the file at ``path`` by its content, or return ``None``.

    ``head`` is the first 8 KiB. ``name`` is the file's name as the user knows it
    (``report.docx``; a stored or intermediate file's ``path`` may have no extension): use it
    only where the content cannot decide (an encrypted OOXML package looks the same for
    docx, xlsx and pptx). Called before the magic-byte table, so plugins can tell apart
    formats sharing a container (OOXML, ODF and EPUB are all ZIP). The first non-``None``
    answer wins; read only what you need and never trust the file: it may be hostile.
    """


@hookspec(firstresult=True)
def confirm_format(path: Path, format: str) -> bool | None:
    """Say whether the file at ``path`` really reads as ``format`` (``True`` or ``False``), or
    return ``None`` when ``format`` is not yours to judge.

    Asked only when a file's name and its content disagree and the content alone is a weak
    guess (plain text, or nothing recognised): a name whose format the file parses as wins.
    Open the file as your engine would, cheaply (headers only) and within a second or two;
    the file may be hostile. The first non-``None`` answer wins.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add sub-commands to the ``conversio`` command line (a ``click.Group``)."""


@hookspec
def observe_event(event: Event) -> None:
    """Observe every engine event (metrics, logging). Must be quick and never raise."""
