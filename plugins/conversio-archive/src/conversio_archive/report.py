"""What an extraction did not keep as it was: members left out, members renamed.

Nothing is dropped or renamed silently: each kind becomes one warning naming
the archive and its first :data:`SHOWN` members (and how many more).
"""

from __future__ import annotations

from enum import Enum

import attrs

#: Members named in one warning; the rest are counted.
SHOWN = 10
#: Longer member names are cut in warnings.
NAME_SHOWN = 100


class LeftOut(Enum):
    """Entries never extracted, for safety (folders are not listed: their files are)."""

    SYMLINK = ("symbolic link", "symbolic links")
    HARDLINK = ("hard link", "hard links")
    SPECIAL = ("device, FIFO or socket", "devices, FIFOs or sockets")
    UNKNOWN = ("entry of an unknown type", "entries of unknown types")

    def noun(self, count: int) -> str:
        return self.value[0] if count == 1 else self.value[1]


@attrs.define
class Report:
    """The members of one archive that were left out or renamed, in archive order."""

    archive: str
    left_out: dict[LeftOut, list[str]] = attrs.field(factory=dict)
    #: (member, output name): made safe (no ``..``, no absolute path, no control characters, cut)
    unsafe: list[tuple[str, str]] = attrs.field(factory=list)
    #: (member, output name): numbered because an earlier member had the name
    taken: list[tuple[str, str]] = attrs.field(factory=list)

    def leave_out(self, member: str, kind: LeftOut) -> None:
        self.left_out.setdefault(kind, []).append(member)

    def renamed(self, member: str, safe: str, final: str) -> None:
        """Record ``member``, written as ``final`` (``safe`` before numbering), if that renames it."""
        if final != safe:
            self.taken.append((member, final))
        elif safe != plain(member):
            self.unsafe.append((member, final))

    def left_out_count(self) -> int:
        return sum(len(names) for names in self.left_out.values())

    def summary(self) -> str:
        """``2 symbolic links and 1 device, FIFO or socket``."""
        parts = [f"{len(names)} {kind.noun(len(names))}" for kind, names in self.left_out.items()]
        return " and ".join(parts)

    def warnings(self) -> list[str]:
        """One message per kind of change, each naming the archive."""
        messages = [
            f"{self.archive}: {len(names)} {kind.noun(len(names))} left out (never extracted, "
            f"for safety): {listing([shown(n) for n in names])}"
            for kind, names in self.left_out.items()
        ]
        if self.unsafe:
            messages.append(
                f"{self.archive}: {_members(len(self.unsafe))} renamed, as the names could not be "
                f"written safely (a path leaving the folder, an absolute path, control characters "
                f"or an overlong name): {listing([_arrow(m, f) for m, f in self.unsafe])}"
            )
        if self.taken:
            messages.append(
                f"{self.archive}: {_members(len(self.taken))} renamed, as an earlier member had the "
                f"same name: {listing([_arrow(m, f) for m, f in self.taken])}"
            )
        return messages


def plain(name: str) -> str:
    """``name`` as a relative path with only harmless changes: ``\\`` as ``/``, no ``.`` parts or
    trailing ``/``. A member whose output name differs from this was renamed for safety."""
    parts = name.replace("\\", "/").split("/")
    kept = [part for index, part in enumerate(parts) if part != "." and (part or index == 0)]
    return "/".join(kept)


def listing(items: list[str]) -> str:
    text = ", ".join(items[:SHOWN])
    more = len(items) - SHOWN
    return f"{text} and {more} more" if more > 0 else text


def shown(name: str) -> str:
    """A member name as a warning shows it: quoted, control characters escaped, cut if long."""
    return repr(name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…")


def _arrow(member: str, final: str) -> str:
    return f"{shown(member)} → {shown(final)}"


def _members(count: int) -> str:
    return f"{count} member" if count == 1 else f"{count} members"
