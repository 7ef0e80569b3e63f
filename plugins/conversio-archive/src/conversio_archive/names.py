"""Member names: made safe, kept relative, and never used twice.

Packers and unpackers make names safe with core's
:func:`conversio.converters.safe_relpath` (folders kept, nothing that could reach
outside the folder written into). Two members that end up with the same name get
a numbered suffix: ``a.png``, ``a (2).png``.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

_COMPOUND_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz")


def split_extension(name: str) -> tuple[str, str]:
    """``("report", ".pdf")``; compound archive extensions stay whole (``.tar.gz``)."""
    lower = name.lower()
    for ext in _COMPOUND_EXTENSIONS:
        if lower.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], name[-len(ext) :]
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], name[dot:]


def numbered(name: str, number: int) -> str:
    """``name`` with `` (number)`` before its extension: ``a (2).png``."""
    stem, ext = split_extension(name)
    return f"{stem} ({number}){ext}"


class UniqueNames:
    """Hands out relative paths that collide neither with each other nor as file and folder.

    Names are compared case-insensitively, so the result also unpacks on
    case-insensitive file systems. A folder that clashes with an earlier file
    is renamed once (``a (2)/``) and every later member of that folder follows it.
    """

    def __init__(self) -> None:
        self._files: set[str] = set()
        self._dirs: set[str] = set()
        self._dir_choice: dict[str, str] = {}

    def claim(self, path: str) -> str:
        """A unique version of the safe relative ``path`` (see :func:`conversio.converters.safe_relpath`)."""
        *folders, leaf = path.split("/")
        parent = ""
        original = ""
        for folder in folders:
            original = f"{original}/{folder}" if original else folder
            chosen = self._dir_choice.get(original.casefold())
            if chosen is None:
                chosen = self._first_free(parent, folder, self._files, frozenset())
                self._dir_choice[original.casefold()] = chosen
                self._dirs.add(chosen.casefold())
            parent = chosen
        result = self._first_free(parent, leaf, self._files, self._dirs)
        self._files.add(result.casefold())
        return result

    @staticmethod
    def _first_free(parent: str, name: str, *taken: AbstractSet[str]) -> str:
        candidate, number = _join(parent, name), 1
        while any(candidate.casefold() in names for names in taken):
            number += 1
            candidate = _join(parent, numbered(name, number))
        return candidate


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name
