"""The Python API and hook reference, written from the code: signatures and docstrings.

Used by ``generated.py`` for the blocks of ``docs/reference/api.md`` and ``hooks.md``. A
public name without a docstring (or, for data, a ``#:`` comment above its assignment) is an
error, so a new name cannot reach the reference undescribed.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import json
import re
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

import attrs

#: Sphinx roles in docstrings (``:class:`~conversio.api.Conversio```): shown as code, ``~``
#: keeping only the last part of the name.
_ROLE = re.compile(r":(?:class|func|meth|data|mod|attr|exc|obj):`(~?)([^`]+)`")
#: Signatures longer than this are written one parameter per line.
_WIDTH = 88
#: Data that cannot carry a docstring and whose definition has no ``#:`` comment.
_DATA_DOC = {
    "hookimpl": "The marker of a hook implementation: decorate each hook function of a plugin "
    "with ``@hookimpl`` (``@hookimpl(tryfirst=True)`` and pluggy's other options apply).",
}


def markdown(text: str) -> str:
    """reStructuredText roles and ````literals```` of a docstring as Markdown code."""

    def role(match: re.Match[str]) -> str:
        name = match.group(2).rsplit(".", 1)[-1] if match.group(1) else match.group(2)
        return f"``{name}``"

    return re.sub(r"``(.+?)``", r"`\1`", _ROLE.sub(role, text))


def first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def _paragraphs(text: str) -> str:
    """Every paragraph, each on one line (indented blocks, such as examples, kept as code)."""
    parts = []
    for block in inspect.cleandoc(text).split("\n\n"):
        lines = block.splitlines()
        if all(line.startswith("    ") for line in lines):
            parts.append("```python\n" + "\n".join(line[4:] for line in lines) + "\n```")
        else:
            parts.append(" ".join(block.split()))
    return "\n\n".join(parts)


def _data_doc(module: ModuleType, name: str) -> str | None:
    """The ``#:`` comment right above ``name = ...`` in ``module``'s source."""
    lines = inspect.getsource(module).splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(name)}\s*(:[^=]*)?=", line):
            return _comment_above(lines, i) or None
    return None


def _comment_above(lines: list[str], index: int) -> str:
    """The ``#:`` comment lines right above ``lines[index]``, joined."""
    comment: list[str] = []
    for above in reversed(lines[:index]):
        if not above.strip().startswith("#:"):
            break
        comment.insert(0, above.strip()[2:].strip())
    return " ".join(comment)


def _default(value: Any) -> str:
    if value is attrs.NOTHING:  # an attrs field with a factory
        return "..."
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def signature(name: str, obj: Callable[..., Any], *, skip_self: bool = False, wrap: bool = True) -> str:
    """``name(a: int, *, b: str = 'x') -> R``, one parameter per line when it is long (and ``wrap``)."""
    sig = inspect.signature(obj)
    params = []
    star = False
    for i, param in enumerate(sig.parameters.values()):
        if skip_self and i == 0:
            continue
        if param.kind is param.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text, star = f"*{text}", True
        elif param.kind is param.VAR_KEYWORD:
            text = f"**{text}"
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += (" = " if param.annotation is not param.empty else "=") + _default(param.default)
        params.append(text)
        if param.kind is param.POSITIONAL_ONLY:
            params.append("/")
    returns = "" if sig.return_annotation in (sig.empty, "None", None) else f" -> {sig.return_annotation}"
    line = f"{name}({', '.join(params)}){returns}"
    if len(line) <= _WIDTH or not wrap:
        return line
    return f"{name}(\n" + "".join(f"    {p},\n" for p in params) + f"){returns}"


def _code(text: str) -> str:
    return f"```python\n{text}\n```"


def _members(cls: type) -> list[str]:
    """The public methods and properties ``cls`` defines itself, one line each."""
    lines = []
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        attr = getattr(cls, name)
        doc = first_paragraph(markdown(inspect.getdoc(attr) or ""))
        if isinstance(value, property | functools.cached_property):
            shown = f"`{name}`"
        elif isinstance(value, classmethod | staticmethod) or inspect.isfunction(value):
            shown = f"`{signature(name, attr, skip_self=inspect.isfunction(value), wrap=False)}`"
        else:
            continue
        lines.append(f"- {shown}" + (f": {doc}" if doc else ""))
    return lines


def _class_attributes(cls: type) -> list[str]:
    """The ``ClassVar`` settings ``cls`` declares, with their ``#:`` comments, one line each."""
    lines = inspect.getsource(cls).splitlines()
    found = []
    for i, line in enumerate(lines):
        match = re.match(r"^    (\w+): ClassVar\[.*?\](?: = (.+))?$", line)
        if not match:
            continue
        default = f" = {match.group(2)}" if match.group(2) else ""
        text = markdown(_comment_above(lines, i))
        found.append(f"- `{match.group(1)}{default}`" + (f": {text}" if text else ""))
    return found


def _own_doc(obj: Any) -> str | None:
    """The docstring of a class or function itself (not one a class inherits), if any."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
    elif inspect.isroutine(obj):
        doc = obj.__doc__
    else:
        return None
    return inspect.cleandoc(doc) if doc else None


def describe(name: str, obj: Any, module: ModuleType) -> str:
    """The entry of one public name: a heading, its signature and its first paragraph."""
    heading = f"### `{name}`"
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        body = [_code(f"class {name}({obj.__bases__[-1].__name__})")]
        body.append(", ".join(f"`{m.name}` (`{m.value!r}`)" for m in obj))
    elif inspect.isclass(obj) and issubclass(obj, Exception):
        body = [_code(f"class {name}({obj.__bases__[0].__name__})"), f"Code `{obj.code}`."]
    elif inspect.isclass(obj) and getattr(obj, "_is_protocol", False):
        body = [_code(f"class {name}(Protocol)")]
    elif inspect.isclass(obj):
        shown = signature(name, obj)
        body = [_code("class " + (name if shown == f"{name}()" else shown))]
    elif inspect.isroutine(obj):
        body = [_code(signature(name, obj))]
    elif isinstance(obj, str):
        body = [_code(f"{name} = {json.dumps(obj)}")]  # double quotes, as the code is formatted
    elif getattr(obj, "__module__", "") == "typing":  # a type alias
        body = [_code(f"{name} = {str(obj).replace('typing.', '')}".replace("'", '"'))]
    else:
        body = [_code(name)]
    doc = _own_doc(obj) or _data_doc(module, name) or _DATA_DOC.get(name)
    if not doc:
        raise ValueError(f"{module.__name__}.{name} has no docstring: describe it for the reference")
    body.insert(1, first_paragraph(markdown(doc)))
    members = []
    if inspect.isclass(obj) and not issubclass(obj, enum.Enum | Exception):
        members = [*_class_attributes(obj), *_members(obj)]
    if members:
        body.append("\n".join(members))
    return "\n\n".join([heading, *body])


def names(module_name: str, only: Iterable[str]) -> str:
    """The entries of ``only`` (names ``module_name`` exports), each read where it is defined."""
    module = importlib.import_module(module_name)
    homes = _imported_from(module)
    return "\n\n".join(
        describe(name, getattr(module, name), importlib.import_module(homes.get(name, module_name)))
        for name in only
    )


def _imported_from(module: ModuleType) -> dict[str, str]:
    """``{name: module}`` of the ``from module import name`` statements of ``module``'s source."""
    found = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update({alias.asname or alias.name: node.module for alias in node.names})
    return found


def hook_specs(module_name: str) -> str:
    """Every hook specification of ``module_name``, in source order: its signature and its whole
    docstring."""
    module = importlib.import_module(module_name)
    specs = [f for f in vars(module).values() if inspect.isfunction(f) and hasattr(f, "conversio_spec")]
    entries = []
    for spec in sorted(specs, key=lambda f: f.__code__.co_firstlineno):
        doc = _paragraphs(markdown(inspect.getdoc(spec) or ""))
        entries.append(f"### `{spec.__name__}`\n\n{_code(signature(spec.__name__, spec))}\n\n{doc}")
    return "\n\n".join(entries)
