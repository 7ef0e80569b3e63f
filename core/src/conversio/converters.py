"""Converters: the edges of the format graph, and what a converter function receives."""

from __future__ import annotations

import importlib
import io
import os
import re
from collections.abc import Callable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import attrs

from conversio import distributions
from conversio._typing import lower
from conversio.errors import MissingDependency, PluginError
from conversio.limits import Limits
from conversio.options import OptionsSchema


class Cardinality(str, Enum):
    """How many files a converter takes and gives."""

    ONE_TO_ONE = "1->1"
    ONE_TO_MANY = "1->n"
    MANY_TO_ONE = "n->1"


_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*:[^\s]+$")


@attrs.frozen
class ConverterSpec:
    """One edge of the format graph.

    ``run`` names the function as ``"package.module:function"``; it is imported
    on first use, so registering a converter imports no engine. ``operation``
    names a same-format operation (``resize``, ``merge``): operations are only
    run when asked for by name, never picked by the router. A ``terminal``
    converter only ever ends a route: its output is not converted further (an
    animated GIF made into a video has no sound to take on to an audio format).

    ``fuse`` names a function (``"module:function"``) that runs several operations
    of one plugin in a single call. When a chain asks for consecutive operations
    with the same ``fuse``, the engine runs them as one step through it. The function
    receives them in :attr:`ConversionRequest.steps` (each a :class:`StepCall` with its
    options validated), and ``options`` empty. It keeps the document in memory between
    them and stores no intermediate result. The engine never fuses after a ``1->n``
    operation or before an ``n->1`` one.

    ``version`` is the version of what the converter makes: results are cached under the
    converter's id, its version, the options and the inputs' digests, so bump it whenever the
    output changes. Left empty it is the plugin distribution's version, so upgrading a plugin
    invalidates its cached results. ``install_hint`` (shown with ``MISSING_DEPENDENCY``)
    defaults to ``pip install <the plugin's distribution>``.
    """

    id: str = attrs.field(validator=attrs.validators.matches_re(_ID))
    source: str = attrs.field(converter=lower)
    target: str = attrs.field(converter=lower)
    run: str
    cardinality: Cardinality = attrs.field(default=Cardinality.ONE_TO_ONE, converter=Cardinality)
    cost: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))
    lossy: bool = False
    options: OptionsSchema = attrs.field(factory=OptionsSchema)
    operation: str | None = None
    install_hint: str = ""
    version: str = ""
    description: str = ""
    plugin: str = ""
    terminal: bool = False
    fuse: str = ""

    @property
    def engine(self) -> str:
        """The engine part of the id (``image.pillow`` in ``image.pillow:png->jpg``)."""
        return self.id.split(":", 1)[0]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "target": self.target,
            "cardinality": self.cardinality.value,
            "cost": self.cost,
            "lossy": self.lossy,
            "operation": self.operation,
            "plugin": self.plugin,
            "description": self.description,
            "install_hint": self.install_hint,
            "options": self.options.describe(),
        }

    def load(self) -> Callable[[ConversionRequest], Sequence[Output]]:
        """Import the converter function; a missing engine is ``MISSING_DEPENDENCY``."""
        fn: Callable[[ConversionRequest], Sequence[Output]] = load_callable(
            self.run, hint=self.install_hint, what=self.id
        )
        return fn


def load_callable(target: str, *, hint: str = "", what: str = "") -> Any:
    """Resolve ``"module:attribute"``.

    A third-party module that is not installed is ``MISSING_DEPENDENCY``, with the extra of the
    plugin's distribution that provides it as the hint when there is one (else ``hint``). A
    module of the plugin's own package that does not import, or an attribute that is not
    there, is the plugin's mistake: ``PLUGIN_ERROR``, saying to check ``run=``.
    """
    module_name, _, attr = target.partition(":")
    what = what or target
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or module_name
        if _own_module(missing, module_name):
            raise PluginError(
                f"converter {what}: {missing} cannot be imported; check run="
                if module_name == missing or module_name.startswith(missing + ".")
                else f"converter {what}: {module_name} cannot be imported ({exc})",
                converter=what,
                module=missing,
            ) from None
        hint = distributions.install_hint(distributions.of_module(module_name), missing, otherwise=hint)
        raise MissingDependency(
            f"{what} needs {missing}, which is not installed" + (f"; {hint}" if hint else ""),
            converter=what,
            module=missing,
            install_hint=hint,
        ) from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise PluginError(
            f"converter {what}: {module_name} has no {attr}; check run=", converter=what
        ) from None


def _own_module(missing: str, module_name: str) -> bool:
    """Whether the module that failed to import, ``missing``, is of the same package as the
    module a ``run=`` names, and not that whole package (an engine named directly)."""
    top = module_name.split(".", 1)[0]
    return missing != top and missing.split(".", 1)[0] == top


@attrs.frozen
class InputFile:
    """One input of a conversion step: a real local path, its display name and format, and
    ``origin``: the name of the user's file it was made from (the archive a member came out
    of, the PDF a page was rendered from; its own name for the user's own files)."""

    path: Path
    name: str
    format: str
    origin: str = ""


@attrs.frozen
class Output:
    """One file a converter produced (inside the request's ``output_dir``)."""

    path: Path
    name: str


@attrs.frozen
class StepCall:
    """One operation a fused call applies (:attr:`ConverterSpec.fuse`), with its validated options."""

    operation: str
    options: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class ConversionRequest:
    """What a converter function receives.

    Converters read ``inputs``, write into ``output_dir`` (use :meth:`output`, or
    :meth:`write` for a file written front to back), honour ``limits`` and may call
    :meth:`progress` and :meth:`warn`. They raise a
    :class:`~conversio.errors.ConversioError` for anything a user should see.
    """

    inputs: tuple[InputFile, ...]
    output_dir: Path
    source: str
    target: str
    options: dict[str, Any] = attrs.field(factory=dict)
    limits: Limits = attrs.field(factory=Limits)
    on_progress: Callable[[float, str], None] | None = attrs.field(default=None, eq=False)
    #: Told the name of each output :meth:`write` starts, so the engine can hash it meanwhile.
    on_write: Callable[[str], None] | None = attrs.field(default=None, eq=False)
    #: What :meth:`warn` was told, in order; the engine adds it to the result's warnings.
    warnings: list[str] = attrs.field(factory=list, eq=False)
    #: A fused call's operations, in the order they apply (:attr:`ConverterSpec.fuse`); else empty.
    steps: tuple[StepCall, ...] = ()

    @property
    def input(self) -> InputFile:
        """The single input of a one-to-one or one-to-many step."""
        return self.inputs[0]

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress between 0 and 1."""
        if self.on_progress is not None:
            self.on_progress(min(max(fraction, 0.0), 1.0), message)

    def warn(self, message: str) -> None:
        """Tell the user something the result does not show (a member left out, a feature
        dropped): it reaches the result's and the job's warnings. Name the user's file."""
        self.warnings.append(message)

    def output(self, name: str) -> Output:
        """An :class:`Output` for a file called ``name`` in ``output_dir``.

        ``name`` may be a relative path (``docs/a.pdf``, for archive members);
        it is made safe (no ``..``, no absolute part) and its folder created.
        The caller writes ``.path``.
        """
        safe = safe_relpath(name)
        path = self.output_dir / safe
        path.parent.mkdir(parents=True, exist_ok=True)
        return Output(path, safe)

    def write(self, name: str, writer: Callable[[BinaryIO], object]) -> Output:
        """The output called ``name`` (as :meth:`output`), written by ``writer`` into the file
        object it is given.

        Every write is appended (the file is opened append-only), so this is for engines that
        write front to back, like qpdf; the engine hashes the file as it grows, on another
        core, and storing it then reads nothing again. The file is final when this returns.
        """
        out = self.output(name)
        fd = os.open(out.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        with io.BufferedWriter(_AppendOnlyFile(fd, "wb")) as stream:
            if self.on_write is not None:
                self.on_write(out.name)
            writer(stream)
        return out


class _AppendOnlyFile(io.FileIO):
    """A file opened append-only that refuses to move anywhere but its end (a writer that
    seeks back to patch a header fails loudly instead of scrambling the file)."""

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        end = os.fstat(self.fileno()).st_size
        start = {os.SEEK_SET: 0, os.SEEK_CUR: self.tell(), os.SEEK_END: end}.get(whence, -1)
        if start + offset != end:
            raise io.UnsupportedOperation("an output written through ConversionRequest.write is append-only")
        return super().seek(offset, whence)


_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE = re.compile(r"[^\w.\- ()+,@=]+", re.UNICODE)


def safe_filename(name: str, default: str = "file") -> str:
    """A file name with no directory part, control characters or leading dots."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    return _fit_bytes(base, MAX_NAME_BYTES) or default


MAX_NAME_BYTES = 180  # file systems allow 255 bytes; leave room for suffixes like " (2)"


def _fit_bytes(name: str, limit: int) -> str:
    """``name`` cut to ``limit`` UTF-8 bytes, keeping a short extension."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode())
    cut = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return cut + dot + ext


def safe_relpath(name: str, default: str = "file") -> str:
    """A relative POSIX path whose every part is a :func:`safe_filename`.

    A Windows drive (``C:``), ``..``, ``.`` and empty parts are dropped, so the
    result never leaves the folder it is joined to; each part fits in 180 bytes.
    """
    path = _DRIVE.sub("", name.replace("\\", "/"))
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    safe = [safe_filename(p) for p in parts]
    return "/".join(s for s in safe if s) or default


def with_extension(name: str, extension: str) -> str:
    """``name`` with its extension replaced by ``extension``."""
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return f"{stem}.{extension}"
