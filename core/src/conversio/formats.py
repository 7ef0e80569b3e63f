"""Formats: what a file is, and the registry that plugins feed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum

import attrs

from conversio._typing import lower, str_tuple
from conversio.errors import PluginError, UnsupportedFormat

#: The pseudo-format of a bundle whose items have not been sniffed yet, such as
#: the members of an archive. As a converter's source it means "any format that
#: is not an archive" (the packers: many files → zip).
ANY = "*"


class Kind(str, Enum):
    """The broad family of a format; used for display and for wildcards."""

    DOCUMENT = "document"
    SPREADSHEET = "spreadsheet"
    PRESENTATION = "presentation"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    ARCHIVE = "archive"
    TEXT = "text"
    DATA = "data"


@attrs.frozen
class Magic:
    """A byte signature: ``data`` found at ``offset`` in the file's head."""

    data: bytes
    offset: int = 0

    def matches(self, head: bytes) -> bool:
        return head[self.offset : self.offset + len(self.data)] == self.data


def _magic_tuple(values: Iterable[Magic]) -> tuple[Magic, ...]:
    return tuple(values)


def _lower_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.lower().lstrip(".") for v in values)


@attrs.frozen
class Format:
    """A file format known to conversio.

    ``name`` is the short lowercase name used everywhere (``jpg``); ``magic``
    lists signatures that identify it by content; every signature must match
    when ``magic_all`` is true (RIFF containers, ISO-BMFF brands).
    """

    name: str = attrs.field(converter=lower)
    kind: Kind = attrs.field(converter=Kind)
    description: str = ""
    extensions: tuple[str, ...] = attrs.field(default=(), converter=_lower_tuple)
    media_types: tuple[str, ...] = attrs.field(default=(), converter=str_tuple)
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_lower_tuple)
    magic: tuple[Magic, ...] = attrs.field(default=(), converter=_magic_tuple)
    magic_all: bool = False

    @property
    def extension(self) -> str:
        """The preferred file extension, without the dot."""
        return self.extensions[0] if self.extensions else self.name

    @property
    def media_type(self) -> str:
        return self.media_types[0] if self.media_types else "application/octet-stream"

    def matches(self, head: bytes) -> bool:
        if not self.magic:
            return False
        test = all if self.magic_all else any
        return test(m.matches(head) for m in self.magic)

    def first_bytes(self) -> frozenset[int] | None:
        """The values the first byte of a file that :meth:`matches` can have; ``None`` for any."""
        at_start = [m.data[0] for m in self.magic if m.offset == 0 and m.data]
        if self.magic_all and at_start:
            return frozenset(at_start[:1])  # every signature must match: one of them decides
        if not self.magic_all and len(at_start) == len(self.magic):
            return frozenset(at_start)
        return None


class FormatRegistry:
    """Every known format, looked up by name, alias, extension or media type."""

    def __init__(self) -> None:
        self._formats: dict[str, Format] = {}
        self._owners: dict[str, str] = {}
        self._lookup: dict[str, str] = {}
        self._by_extension: dict[str, str] = {}
        #: the formats with magic, by the first byte of a head they may match (built on first use)
        self._by_first_byte: tuple[tuple[Format, ...], ...] | None = None

    def add(self, fmt: Format, owner: str = "?") -> None:
        """Register ``fmt``, declared by the plugin ``owner``. Another definition of a known
        format, or a name, alias or extension another format already has, is an error naming
        both plugins."""
        if fmt.name in self._formats:
            if self._formats[fmt.name] == fmt:
                return
            raise PluginError(
                f"format {fmt.name!r} is declared by both {self._owners[fmt.name]!r} "
                f"and {owner!r} with different definitions",
                format=fmt.name,
                plugins=[self._owners[fmt.name], owner],
            )
        claims = [(fmt.name, "name", self._lookup)] + [(a, "alias", self._lookup) for a in fmt.aliases]
        claims += [(ext, "extension", self._by_extension) for ext in fmt.extensions]
        for word, what, table in claims:
            other = table.get(word, fmt.name)
            if other != fmt.name:
                raise PluginError(
                    f"format {fmt.name!r} of {owner!r} declares the {what} {word!r}, which format "
                    f"{other!r} of {self._owners[other]!r} already has",
                    format=fmt.name,
                    plugins=[self._owners[other], owner],
                )
        self._formats[fmt.name] = fmt
        self._owners[fmt.name] = owner
        self._by_first_byte = None
        for word, _, table in claims:
            table[word] = fmt.name

    def copy(self) -> FormatRegistry:
        """An independent registry with the same formats (formats are immutable: no deep copy)."""
        twin = FormatRegistry()
        twin._formats = dict(self._formats)
        twin._owners = dict(self._owners)
        twin._lookup = dict(self._lookup)
        twin._by_extension = dict(self._by_extension)
        return twin

    def identify(self, head: bytes) -> str | None:
        """The first format, in name order, whose magic matches ``head`` (a file's first bytes)."""
        if not head:
            return None
        if self._by_first_byte is None:
            self._by_first_byte = self._first_byte_index()
        return next((f.name for f in self._by_first_byte[head[0]] if f.matches(head)), None)

    def _first_byte_index(self) -> tuple[tuple[Format, ...], ...]:
        sniffable = [(f, f.first_bytes()) for f in self if f.magic]
        return tuple(
            tuple(f for f, first in sniffable if first is None or value in first) for value in range(256)
        )

    def __iter__(self) -> Iterator[Format]:
        return iter(sorted(self._formats.values(), key=lambda f: f.name))

    def __len__(self) -> int:
        return len(self._formats)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower().lstrip(".") in self._lookup

    def get(self, name: str) -> Format:
        """The format called ``name`` (or an alias of it); ``UNSUPPORTED_FORMAT`` otherwise."""
        key = name.lower().lstrip(".")
        if key in self._lookup:
            return self._formats[self._lookup[key]]
        raise UnsupportedFormat(
            f"unknown format {name!r}",
            format=name,
            known=sorted(self._formats),
        )

    def canonical(self, name: str) -> str:
        """The canonical name of ``name``; ``*`` stays ``*``."""
        return ANY if name == ANY else self.get(name).name

    def by_extension(self, ext: str) -> Format | None:
        name = self._by_extension.get(ext.lower().lstrip("."))
        return self._formats[name] if name else None

    def owner(self, name: str) -> str:
        return self._owners[self.get(name).name]

    def is_archive(self, name: str) -> bool:
        fmt = self._formats.get(self._lookup.get(name, ""))
        return fmt is not None and fmt.kind is Kind.ARCHIVE
