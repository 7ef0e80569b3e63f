"""What every unpacker shares: safe output names, metered writes, error mapping.

An unpacker reserves an output for each regular member (in archive order),
writes it through a :class:`MemberFile`, which charges the :class:`Budget`
before every chunk, and returns :attr:`Extraction.outputs`. Links, folders and
special files are never created: the unpackers skip them and say so through
:meth:`Extraction.leave_out`; members renamed on the way are recorded too, and
:meth:`Extraction.finish` turns both into warnings (:mod:`conversio_archive.report`).
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable
from types import TracebackType
from typing import BinaryIO, TypeVar

from conversio.converters import ConversionRequest, Output, safe_relpath
from conversio.errors import ConversioError, CorruptFile, EmptyFile, InvalidPassword, UnsupportedEncryption
from conversio_archive.budget import Budget, Declared
from conversio_archive.names import UniqueNames
from conversio_archive.report import LeftOut, Report

log = logging.getLogger("conversio_archive")

#: Bytes copied at a time: memory stays bounded whatever the member's size.
CHUNK = 1024 * 1024

Reader = Callable[[int], bytes]
T = TypeVar("T")


class Extraction:
    """The outputs of unpacking ``request.input``, and the limits they must respect."""

    def __init__(self, request: ConversionRequest) -> None:
        self.request = request
        self.archive = request.input.name
        self.budget = Budget(request.limits, self.archive, request.input.path.stat().st_size)
        self._names = UniqueNames()
        self.report = Report(self.archive)
        self._reserved: list[Output] = []
        self._done: set[str] = set()

    @property
    def outputs(self) -> list[Output]:
        """Every member written so far, in the order they were reserved."""
        return [out for out in self._reserved if out.name in self._done]

    def finish(self) -> list[Output]:
        """The outputs, after a warning for each kind of member left out or renamed.

        An archive with no regular file at all is EMPTY_FILE, not an empty result: a
        caller (or the next step of a chain) would take "nothing" for success.
        """
        if not self.outputs:
            raise self._empty()
        for message in self.report.warnings():
            self.request.warn(message)
        return self.outputs

    def _empty(self) -> EmptyFile:
        entries, left_out = self.budget.members, self.report.left_out_count()
        if not entries:
            message = f"{self.archive} is an empty archive: it holds no files"
        elif left_out:
            folders = entries - left_out
            message = (
                f"{self.archive} holds no files to extract: only {self.report.summary()}, which are "
                "never extracted for safety" + (f", and {folders} folder(s)" if folders > 0 else "")
            )
        else:
            message = f"{self.archive} holds only folders ({entries} entries), no files"
        return EmptyFile(message, file=self.archive, entries=entries, left_out=left_out)

    def leave_out(self, member: str, kind: LeftOut) -> None:
        """Record a member that is never extracted (a link or special file)."""
        self.report.leave_out(member, kind)

    def check_declared(self, entries: int, members: list[Declared]) -> None:
        self.budget.check_declared(entries, members)

    def admit(self, name: str) -> None:
        self.budget.admit(name)

    def reserve(self, member: str) -> Output:
        """The output a member called ``member`` will be written to (a safe, unused name)."""
        safe = safe_relpath(member)
        name = self._names.claim(safe)
        self.report.renamed(member, safe, name)
        output = self.request.output(name)
        if output.name != name:  # names.py and conversio must agree on what is safe
            raise RuntimeError(f"member name {name!r} was changed to {output.name!r}")
        self._reserved.append(output)
        return output

    def open(self, member: str, output: Output | None = None, compressed: int | None = None) -> MemberFile:
        """A metered writer for ``member`` (into ``output``, reserved now if not given)."""
        return MemberFile(self, output or self.reserve(member), member, compressed)

    def copy(self, read: Reader, member: str, compressed: int | None = None) -> Output:
        """Write everything ``read`` gives, chunk by chunk, as the member ``member``."""
        with self.open(member, compressed=compressed) as out:
            while chunk := read(CHUNK):
                out.write(chunk)
        return out.output

    def mark_done(self, output: Output) -> None:
        self._done.add(output.name)

    # -- errors ------------------------------------------------------------
    def corrupt(self, exc: BaseException | str) -> CorruptFile:
        """CORRUPT_FILE; a reason in our own words is told, an engine's exception only logged."""
        if isinstance(exc, str):
            return CorruptFile(f"{self.archive} is damaged: {exc}", file=self.archive, reason=exc)
        log.info("%s could not be read: %s", self.archive, describe(exc))
        return CorruptFile(
            f"{self.archive} is damaged or cut short and cannot be opened as an archive; "
            "get a complete copy of it",
            file=self.archive,
        )

    def bad_password(
        self, given: bool, member: str | None = None, cause: BaseException | None = None
    ) -> InvalidPassword:
        """INVALID_PASSWORD; with a ``cause``, the data may also just be damaged (no way to tell)."""
        if given:
            message = f"{self.archive}: the password is wrong" + (f" (for {member!r})" if member else "")
            if cause is not None:
                message += ", or the encrypted data is damaged"
        else:
            message = f"{self.archive} is encrypted: give its password with the 'password' option"
        return InvalidPassword(message, file=self.archive, member=member, password_given=given)

    def unsupported_encryption(self, scheme: str, member: str | None = None) -> UnsupportedEncryption:
        """UNSUPPORTED_ENCRYPTION: no password can help, the engine cannot decrypt ``scheme``."""
        where = f"{self.archive}: {member!r}" if member else self.archive
        return UnsupportedEncryption(
            f"{where} is encrypted with {scheme}, which conversio cannot decrypt; re-create the "
            "archive with ZipCrypto (zip's legacy encryption) or as an encrypted 7z",
            file=self.archive,
            member=member,
            scheme=scheme,
        )


class MemberFile:
    """One member being written; kept on success, removed on any failure."""

    def __init__(self, extraction: Extraction, output: Output, member: str, compressed: int | None) -> None:
        self.output = output
        self.member = member
        self.size = 0
        self._extraction = extraction
        self._compressed = compressed
        # "x": never overwrite, and never follow a link planted at this path.
        self._fh: BinaryIO | None = output.path.open("xb")

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fh is None:
            raise ValueError(f"{self.member} is already closed")
        self._extraction.budget.charge(self.member, self.size, len(data), self._compressed)
        self._fh.write(data)
        self.size += len(data)

    def commit(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._extraction.mark_done(self.output)

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self.output.path.unlink(missing_ok=True)

    def __enter__(self) -> MemberFile:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def engine_failure(exc: BaseException) -> bool:
    """True when ``exc`` says the *archive* is bad, not the machine.

    Decompressors report bad data with ``OSError`` too (bz2), but without an
    errno, and a seek to an offset the archive made up fails with ``EINVAL``;
    any other I/O error (disk full, permission) is no fault of the input.
    """
    if isinstance(exc, ConversioError):
        return False
    return not (isinstance(exc, OSError) and exc.errno not in (None, errno.EINVAL))


def guarded(
    read: Reader, errors: tuple[type[BaseException], ...], failure: Callable[[BaseException], ConversioError]
) -> Reader:
    """``read`` with the engine's data errors turned into ``failure(exc)``."""

    def guarded_read(size: int) -> bytes:
        return attempt(lambda: read(size), errors, failure)

    return guarded_read


def attempt(
    call: Callable[[], T],
    errors: tuple[type[BaseException], ...],
    failure: Callable[[BaseException], ConversioError],
) -> T:
    """``call()`` with the engine's data errors turned into ``failure(exc)``."""
    try:
        return call()
    except errors as exc:
        if not engine_failure(exc):
            raise
        raise failure(exc) from None


def describe(exc: BaseException) -> str:
    """An engine's exception as one line, for the operator's log (never for the user)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
