"""The limits of one extraction: members, unpacked bytes and compression ratio.

Sizes declared by an archive's headers are checked first, so an obvious bomb
is refused before anything is written; then every chunk is charged *before* it
is written, so the bytes on disk never pass a limit whatever the headers said.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from conversio.errors import FileTooLarge
from conversio.limits import Limits

#: Ratio limits only bite once this much has been unpacked (in all, or from one
#: member), so a small archive of very compressible text is never refused.
RATIO_FLOOR = 1024 * 1024


@attrs.frozen
class Declared:
    """A member as the archive's headers describe it (``compressed`` may be unknown)."""

    name: str
    size: int
    compressed: int | None = None


@attrs.define
class Budget:
    """What an extraction of the archive ``archive`` (``archive_size`` bytes) may still do."""

    limits: Limits
    archive: str
    archive_size: int
    members: int = 0
    #: Bytes decompressed so far: written, or read past (skipped members, padding).
    unpacked: int = 0

    # -- limits ------------------------------------------------------------
    def total_allowance(self) -> tuple[int, str]:
        """The most bytes the whole extraction may write, and the limit that sets it."""
        by_ratio = self._by_ratio(self.archive_size)
        if self.limits.max_unpacked_size <= by_ratio:
            return self.limits.max_unpacked_size, "max_unpacked_size"
        return by_ratio, "max_compression_ratio"

    def member_allowance(self, compressed: int | None) -> int | None:
        """The most bytes one member of ``compressed`` bytes may unpack to (None: unknown)."""
        return None if compressed is None else self._by_ratio(compressed)

    def _by_ratio(self, compressed: int) -> int:
        return max(RATIO_FLOOR, int(self.limits.max_compression_ratio * compressed))

    # -- checks ------------------------------------------------------------
    def check_declared(self, entries: int, members: Iterable[Declared]) -> None:
        """Refuse up front what the headers already show to be too much."""
        if entries > self.limits.max_members:
            raise self._too_many(entries)
        total = 0
        for member in members:
            self._check_member(member.name, member.size, member.compressed, declared=True)
            total += member.size
        self._check_total(total, member=None, declared=True)

    def admit(self, name: str) -> None:
        """Count one more entry (files, folders and links alike)."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise self._too_many(self.members, member=name)

    def charge(self, name: str, member_written: int, size: int, compressed: int | None) -> None:
        """Account for ``size`` more bytes of member ``name`` before they are written, or refuse them."""
        self._check_member(name, member_written + size, compressed, declared=False)
        self._check_total(self.unpacked + size, member=name, declared=False)
        self.unpacked += size

    def charge_skipped(self, what: str, size: int) -> None:
        """Account for ``size`` bytes the engine decompresses only to read past them."""
        self._check_total(self.unpacked + size, member=what, declared=False)
        self.unpacked += size

    def _check_total(self, total: int, *, member: str | None, declared: bool) -> None:
        allowance, limit = self.total_allowance()
        if total <= allowance:
            return
        verb = "declares more than" if declared else "unpacks to more than"
        if limit == "max_unpacked_size":
            message = f"{self.archive} {verb} {allowance} bytes (max_unpacked_size)"
            maximum: float = self.limits.max_unpacked_size
        else:
            message = (
                f"{self.archive} {verb} {self.limits.max_compression_ratio:g} times its size of "
                f"{self.archive_size} bytes (max_compression_ratio): a likely decompression bomb"
            )
            maximum = self.limits.max_compression_ratio
        raise FileTooLarge(
            message, file=self.archive, limit=limit, maximum=maximum, allowed_bytes=allowance, member=member
        )

    def _check_member(self, name: str, size: int, compressed: int | None, *, declared: bool) -> None:
        allowance = self.member_allowance(compressed)
        if allowance is None or size <= allowance:
            return
        verb = "declares more than" if declared else "unpacks to more than"
        raise FileTooLarge(
            f"{self.archive}: member {name!r} {verb} {self.limits.max_compression_ratio:g} times its "
            f"compressed size of {compressed} bytes (max_compression_ratio): a likely decompression bomb",
            file=self.archive,
            limit="max_compression_ratio",
            maximum=self.limits.max_compression_ratio,
            allowed_bytes=allowance,
            member=name,
        )

    def _too_many(self, count: int, member: str | None = None) -> FileTooLarge:
        return FileTooLarge(
            f"{self.archive} has more than {self.limits.max_members} entries (max_members)",
            file=self.archive,
            limit="max_members",
            maximum=self.limits.max_members,
            entries=count,
            member=member,
        )
