"""One error taxonomy: every failure a user can meet carries a stable code.

Faces map codes to their own conventions (exit codes in the CLI, HTTP statuses
in the server); the code and the structured ``details`` never change meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class ConversioError(Exception):
    """Base of every error conversio raises on purpose."""

    code: ClassVar[str] = "CONVERSION_FAILED"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"code", "message", "details"}``."""
        return {"code": self.code, "message": self.message, "details": self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversioError:
        """Rebuild an error (for example one raised in a worker process)."""
        error_cls = ERRORS_BY_CODE.get(str(data.get("code")), ConversioError)
        return error_cls(str(data.get("message", "")), **dict(data.get("details") or {}))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.to_dict(),))

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def listed(names: Iterable[str]) -> str:
    """Files as a message names them: ``a.pdf``, ``a.pdf and b.pdf``, ``a.pdf, b.pdf and 3 other
    files`` (``the input`` for none)."""
    shown = list(names)
    if len(shown) > 3:
        shown = [*shown[:2], f"{len(shown) - 2} other files"]
    if len(shown) < 2:
        return "".join(shown) or "the input"
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def _rebuild(data: dict[str, Any]) -> ConversioError:
    return ConversioError.from_dict(data)


class UnsupportedFormat(ConversioError):
    """The input's format is unknown, or cannot be read by any plugin."""

    code = "UNSUPPORTED_FORMAT"


class FormatMismatch(UnsupportedFormat):
    """The file's name and its content name different formats, and it cannot be read as either."""

    code = "FORMAT_MISMATCH"


class NoRoute(ConversioError):
    """No chain of converters leads from the source to the target."""

    code = "NO_ROUTE"


class CorruptFile(ConversioError):
    """The input is damaged, truncated or not what it claims to be."""

    code = "CORRUPT_FILE"


class EmptyFile(CorruptFile):
    """The input has no content at all (zero bytes)."""

    code = "EMPTY_FILE"


class NoTextLayer(ConversioError):
    """Text was asked of a document whose pages hold only pictures (a scan): OCR would be needed."""

    code = "NO_TEXT_LAYER"


class UnsupportedEncryption(ConversioError):
    """The input is encrypted with a scheme the engine cannot open, whatever the password."""

    code = "UNSUPPORTED_ENCRYPTION"


class InvalidOption(ConversioError):
    """An option is unknown, of the wrong type or out of range."""

    code = "INVALID_OPTION"


class InvalidRequest(ConversioError):
    """The request itself is malformed (no inputs, unknown operation, ...)."""

    code = "INVALID_REQUEST"


class FileTooLarge(ConversioError):
    """A size, pixel, member-count or ratio limit was crossed."""

    code = "FILE_TOO_LARGE"


class InsufficientStorage(ConversioError):
    """The store or the disk is full: nothing was kept; the input is not at fault."""

    code = "INSUFFICIENT_STORAGE"


class StoreUnavailable(ConversioError):
    """The artifact store cannot be reached or refuses this host; the input is not at fault and the
    same request may work later."""

    code = "STORE_UNAVAILABLE"


class Timeout(ConversioError):
    """A step ran past its time limit and was killed."""

    code = "TIMEOUT"


class Cancelled(ConversioError):
    """The conversion was cancelled by its caller."""

    code = "CANCELLED"


class MissingDependency(ConversioError):
    """An engine a converter needs is not installed."""

    code = "MISSING_DEPENDENCY"


class InvalidPassword(ConversioError):
    """The input is encrypted and no password, or a wrong one, was given."""

    code = "INVALID_PASSWORD"


class ArtifactNotFound(ConversioError):
    """No stored artifact has this id (never stored, deleted or expired)."""

    code = "FILE_NOT_FOUND"


class PluginError(ConversioError):
    """A plugin failed to load, or two plugins conflict."""

    code = "PLUGIN_ERROR"


class ConversionFailed(ConversioError):
    """The conversion failed; ``details["attempts"]`` lists every attempt.

    A converter that judged the input itself (a web page that answered 404, a check the caller
    asked for that the input failed) says so with ``details["final"]``: no other route is tried,
    since any would meet the same input."""

    code = "CONVERSION_FAILED"


def engine_stopped(what: str, engine: str, signal: int, **details: Any) -> ConversionFailed:
    """An external engine killed by ``signal`` while ``what`` (``converting a.md to html``): a crash,
    which the engine runs once more on the same route (``details["crashed"]``)."""
    message = f"{what}: {engine} stopped unexpectedly (signal {signal})"
    return ConversionFailed(message, crashed=True, signal=signal, **details)


ERRORS_BY_CODE: dict[str, type[ConversioError]] = {
    cls.code: cls
    for cls in (
        UnsupportedFormat,
        FormatMismatch,
        NoRoute,
        CorruptFile,
        EmptyFile,
        NoTextLayer,
        UnsupportedEncryption,
        InvalidOption,
        InvalidRequest,
        FileTooLarge,
        InsufficientStorage,
        StoreUnavailable,
        Timeout,
        Cancelled,
        MissingDependency,
        InvalidPassword,
        ArtifactNotFound,
        PluginError,
        ConversionFailed,
    )
}
