"""The Python API: ``Conversio`` (an instance of the framework), lazy
``Conversion`` chains and their ``Result``: one module, a little over 450 lines,
as it is the one page a user of the API reads."""

from __future__ import annotations

import atexit
import concurrent.futures
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeAlias

import attrs

from conversio import ingest
from conversio.converters import ConverterSpec, safe_relpath
from conversio.engine.executors import Executor, PoolHealth, make_executor
from conversio.engine.planning import Plan
from conversio.engine.runner import Engine
from conversio.engine.stages import ConvertStage, OperationStage, Stage
from conversio.engine.state import Item
from conversio.errors import ConversioError, InvalidRequest, UnsupportedFormat
from conversio.events import Event, EventHandler, EventKind
from conversio.formats import ANY, Format
from conversio.ingest import Arriving, FileState
from conversio.limits import Limits
from conversio.plugins import PluginHost, PluginInfo, PluginPolicy
from conversio.routing import Route, RoutePreferences
from conversio.sniffing import Sniffed, read_head, sniff_head
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.common import not_found
from conversio.stores.space import refusing_full

#: A local file, a stored artifact, the result of another conversion, or a file on its way
#: into the store (:class:`~conversio.ingest.Arriving`, from :meth:`Conversio.arriving`).
Input: TypeAlias = "str | os.PathLike[str] | Artifact | Result | Arriving"


#: How long the default per-user store keeps files (a cache: content can be made again).
CACHE_RETENTION = 7 * 24 * 3600


def cache_from_env() -> bool:
    """Whether the result cache is on: ``CONVERSIO_CACHE`` set to ``0``, ``false``, ``no`` or
    ``off`` turns it off; it is on otherwise."""
    return os.environ.get("CONVERSIO_CACHE", "").strip().lower() not in ("0", "false", "no", "off")


def default_store_url() -> str:
    """``CONVERSIO_STORE``, else a cache folder of the user's, kept a week, not synced to disk."""
    if os.environ.get("CONVERSIO_STORE"):
        return os.environ["CONVERSIO_STORE"]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return (cache / "conversio" / "store").resolve().as_uri() + f"?ttl={CACHE_RETENTION}&durable=0"


class Conversio:
    """conversio with its plugins, store and engine.

    ``plugins`` adds plugin objects by name (besides entry points, unless
    ``autoload`` is false); ``store`` is a store URL (``memory://``,
    ``file:///srv/conversio``) or object; ``executor`` is ``"process"`` (a
    pool of killable worker processes, the default) or ``"inline"``. ``cache``
    turns the result cache on or off; left out, the environment decides:
    ``CONVERSIO_CACHE=0`` (or ``false``, ``no``, ``off``) turns it off, and it is
    on otherwise.
    """

    def __init__(
        self,
        *,
        plugins: Mapping[str, object] | None = None,
        autoload: bool = True,
        store: str | ArtifactStore | None = None,
        executor: str | Executor = "process",
        workers: int | None = None,
        limits: Limits | None = None,
        cache: bool | None = None,
        policy: PluginPolicy | None = None,
    ) -> None:
        self.host = PluginHost(autoload=autoload, policy=policy)
        for name, plugin in (plugins or {}).items():
            self.host.register(plugin, name)
        self.registry = self.host.registry
        self.store = store if store is not None and not isinstance(store, str) else self._open_store(store)
        self.limits = limits or Limits.from_env()
        self.engine = Engine(
            self.registry,
            self.store,
            make_executor(executor, workers),
            self._sniff_output,
            limits=self.limits,
            observers=[self.host.emit],
            cache=cache_from_env() if cache is None else cache,
            confirm=self.host.confirm,
        )
        self.router = self.engine.router

    def _open_store(self, url: str | None) -> ArtifactStore:
        url = url or default_store_url()
        scheme = url.split("://", 1)[0] if "://" in url else ""
        factory = self.registry.stores.get(scheme)
        if factory is None:
            raise InvalidRequest(
                f"unknown store {url!r}; known schemes: {', '.join(sorted(self.registry.stores))}",
                store=url,
            )
        return factory(url)

    def close(self) -> None:
        """Stop the worker processes."""
        self.engine.executor.close()

    def __enter__(self) -> Conversio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- discovery --------------------------------------------------------
    @property
    def formats(self) -> list[Format]:
        return list(self.registry.formats)

    @property
    def plugins(self) -> list[PluginInfo]:
        return self.host.plugins

    def converters(self, source: str | None = None, target: str | None = None) -> list[ConverterSpec]:
        """Converters and operations, optionally only from ``source`` or to ``target``."""
        src = self.registry.formats.canonical(source) if source else None
        dst = self.registry.formats.canonical(target) if target else None
        return [
            c
            for c in sorted(self.registry.converters.values(), key=lambda c: c.id)
            if (src is None or c.source in (src, ANY)) and (dst is None or c.target in (dst, ANY))
        ]

    def route(
        self,
        source: str,
        target: str,
        *,
        via: Sequence[str] = (),
        prefer: Sequence[str] = (),
        avoid: Sequence[str] = (),
        max_hops: int | None = None,
        alternatives: int = 3,
    ) -> Route:
        """The route from ``source`` to ``target``; ``.explain()`` shows why."""
        prefs = RoutePreferences(tuple(prefer), tuple(avoid), max_hops)
        return self.router.route(source, target, via=via, preferences=prefs, alternatives=alternatives)

    def sources_for(self, target: str) -> list[str]:
        """Formats some route converts to ``target``."""
        return self.router.sources_for(target)

    def targets(self, source: str | None = None) -> list[str]:
        """Formats some route leads to from ``source``; without one, every format a converter makes."""
        if source is None:
            return sorted({c.target for c in self.registry.converters.values()} - {ANY})
        return sorted(self.router.reachable(self.registry.formats.canonical(source)))

    def canonical(self, name: str) -> str | None:
        """The format ``name`` (a format's name, extension or alias) stands for; ``None`` if none."""
        formats = self.registry.formats
        return formats.canonical(name) if name in formats else None

    def operations(self) -> list[str]:
        """The names of the operations (``merge``, ``resize``…) some plugin implements."""
        return self.registry.operation_names()

    def health(self) -> PoolHealth:
        """Whether conversions can run now, and how many worker processes run them."""
        return self.engine.executor.health()

    def media_type(self, fmt: str) -> str:
        """The media type of the format ``fmt``; ``application/octet-stream`` for one not known."""
        formats = self.registry.formats
        return formats.get(fmt).media_type if fmt in formats else "application/octet-stream"

    # -- conversion -------------------------------------------------------
    def convert(
        self,
        inputs: Input | Sequence[Input],
        to: str | None = None,
        *,
        via: Sequence[str] = (),
        options: Mapping[str, Any] | None = None,
        prefer: Sequence[str] = (),
        avoid: Sequence[str] = (),
        max_hops: int | None = None,
    ) -> Conversion:
        """A lazy conversion of ``inputs`` to ``to``; add steps with ``.then()``.

        Nothing runs until ``.run()`` or ``.save()``.
        """
        items = tuple(inputs) if isinstance(inputs, list | tuple) else (inputs,)
        stages: tuple[Stage, ...] = ()
        if to is not None:
            stages = (ConvertStage(to, tuple(via), dict(options or {})),)
        elif via or options:
            raise InvalidRequest("'via' and 'options' need a target format ('to')")
        return Conversion(self, items, stages, RoutePreferences(tuple(prefer), tuple(avoid), max_hops))

    def put(self, path: str | os.PathLike[str], *, name: str | None = None) -> tuple[Artifact, Sniffed]:
        """Store a local file after sniffing its format."""
        local = Path(path)
        display = name or local.name
        sniffed = self.sniff(local, name=display)
        return self.store.put_file(local, name=display, format=sniffed.format), sniffed

    def sniff(self, path: str | os.PathLike[str], *, name: str | None = None) -> Sniffed:
        """The format of a local file, by its content (``name`` is what its name claims)."""
        local = Path(path)
        return self._sniff_head(read_head(local)[0], local, name or local.name)

    def _sniff_head(self, head: bytes, path: Path, name: str) -> Sniffed:
        """:func:`~conversio.sniffing.sniff_head` with this instance's formats and hooks."""
        return sniff_head(
            head, path, self.registry.formats, self.host.sniff, name=name, confirm=self.host.confirm
        )

    def _sniff_output(self, path: Path, name: str) -> str:
        """Sniff a member produced at run time; unrecognised content is ``bin``."""
        try:
            return self._sniff_head(read_head(path)[0], path, name).format
        except ConversioError:
            return "bin"

    def arriving(
        self,
        files: Sequence[str | os.PathLike[str]],
        *,
        names: Sequence[str] | None = None,
        pool: concurrent.futures.Executor | None = None,
        owned: bool = False,
        unknown: str | None = None,
    ) -> list[Arriving]:
        """Local files on their way into the store, to convert as they arrive.

        Every file is sniffed before any is stored (a file that cannot be read stores
        nothing), then stored in the background by ``pool``: by default threads of their
        own, several at a time only for big files. A conversion of them may start on the
        files themselves meanwhile (:class:`~conversio.ingest.Arriving`), so they must not
        change until stored. ``names`` are what the user calls them (by default their own
        names). ``owned`` files are the store's to take (a server's uploads, never written
        again): it may link them rather than copy. Content no plugin recognises is
        ``UNSUPPORTED_FORMAT``, or of the format ``unknown`` when one is given.
        """
        paths = [Path(f) for f in files]
        shown = list(names) if names is not None else [p.name for p in paths]
        return ingest.arrive(
            list(zip(paths, shown, strict=True)),
            lambda path, name: self._sniff_arriving(path, name, unknown),
            self.store,
            pool,
            owned=owned,
        )

    def _sniff_arriving(
        self, path: Path, name: str, unknown: str | None
    ) -> tuple[str, FileState, str | None]:
        """The format of ``path`` (``unknown`` if given, for content no plugin recognises), its
        state when it was read, and what sniffing warns of."""
        head, info = read_head(path)
        try:
            sniffed = self._sniff_head(head, path, name)
        except UnsupportedFormat:
            if unknown is None:
                raise
            return unknown, FileState.of(info), None
        return sniffed.format, FileState.of(info), sniffed.warning

    def _files(self, inputs: Sequence[Input]) -> list[Item | Path]:
        """Every file of ``inputs``: stored (a result's too), arriving, or local (a path)."""
        found: list[Item | Path] = []
        for item in inputs:
            if isinstance(item, Result):
                found.extend(item.artifacts)
            elif isinstance(item, Artifact):  # as given: its record never changes once stored
                if item.expired():
                    raise not_found(item.id)
                found.append(item)
            elif isinstance(item, Arriving):
                found.append(item)
            else:
                found.append(Path(item))
        return found

    @contextmanager
    def _ingesting(self, items: Sequence[Input], warnings: list[str]) -> Iterator[list[Item]]:
        """The inputs as the engine takes them, local files :meth:`arriving`; every one of them
        is stored before this ends."""
        found = self._files(items)
        local = self.arriving([i for i in found if isinstance(i, Path)])
        warnings.extend(f"{a.name}: {a.warning}" for a in local if a.warning)
        arrived = iter(local)
        try:
            yield [next(arrived) if isinstance(i, Path) else i for i in found]
        finally:
            concurrent.futures.wait([a.stored for a in local])


@attrs.frozen
class Conversion:
    """A chain of stages waiting to run. Immutable: ``then`` returns a new one."""

    app: Conversio
    inputs: tuple[Any, ...]
    stages: tuple[Stage, ...]
    preferences: RoutePreferences = attrs.field(factory=RoutePreferences)

    def then(self, step: str, /, *, via: Sequence[str] = (), **options: Any) -> Conversion:
        """Add an operation (``"merge"``, ``"resize"``) or a conversion to a format."""
        if step in self.app.registry.operation_names():
            if via:
                raise InvalidRequest(f"'via' applies to conversions, not to the operation {step!r}")
            stage: Stage = OperationStage(step, options)
        elif step in self.app.registry.formats:
            stage = ConvertStage(step, tuple(via), options)
        else:
            raise InvalidRequest(
                f"{step!r} is neither an operation nor a format; operations: "
                f"{', '.join(self.app.registry.operation_names()) or '(none)'}",
                step=step,
            )
        return attrs.evolve(self, stages=(*self.stages, stage))

    def plan(self) -> Plan:
        """What each stage will do (the routes, and operations run as one step): inputs are
        sniffed, nothing is stored or run. ``NO_ROUTE`` when a stage cannot be done; pass the
        plan to :meth:`run` to run it without planning again."""
        files = self.app._files(self.inputs)
        formats = [self.app.sniff(f).format if isinstance(f, Path) else f.format for f in files]
        return self.app.engine.plan(formats, self.stages, self.preferences, names=[f.name for f in files])

    def run(
        self,
        *,
        plan: Plan | None = None,
        on_event: EventHandler | None = None,
        cancel: threading.Event | None = None,
    ) -> Result:
        """Run the chain; every intermediate result stays in the store. A ``plan`` from
        :meth:`plan` is followed where the files are what it expected, without planning again."""
        warnings: list[str] = []
        steps: list[str] = []

        def record(event: Event) -> None:
            if event.kind in (EventKind.STEP_STARTED,):
                steps.append(event.message)
            if on_event is not None:
                on_event(event)

        with self.app._ingesting(self.inputs, warnings) as items:
            outputs = self.app.engine.run(
                items,
                self.stages,
                plan=plan,
                preferences=self.preferences,
                on_event=record,
                cancel=cancel,
                warnings=warnings,
            )
        return Result(tuple(outputs), self.app.store, tuple(steps), tuple(warnings))

    def save(self, dest: str | os.PathLike[str]) -> list[Path]:
        """Run, then save the result (see :meth:`Result.save`)."""
        return self.run().save(dest)


@attrs.frozen
class Result:
    """The artifacts a conversion produced, with the steps it took."""

    artifacts: tuple[Artifact, ...]
    store: ArtifactStore = attrs.field(repr=False)
    steps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_bundle(self) -> bool:
        return len(self.artifacts) != 1

    @property
    def artifact(self) -> Artifact:
        """The single artifact; ``INVALID_REQUEST`` for a bundle."""
        if self.is_bundle:
            raise InvalidRequest(f"the result is a bundle of {len(self.artifacts)} files, not one")
        return self.artifacts[0]

    def __iter__(self) -> Iterator[Artifact]:
        return iter(self.artifacts)

    def __len__(self) -> int:
        return len(self.artifacts)

    def open(self) -> IO[bytes]:
        """A reader over the single artifact."""
        return self.store.open(self.artifact.id)

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def save(self, dest: str | os.PathLike[str], *, overwrite: bool = True) -> list[Path]:
        """Save to ``dest`` and return the paths written.

        One artifact goes to ``dest`` itself, or into it when ``dest`` is an
        existing folder or ends with a slash. A bundle goes into the folder
        ``dest`` (created), under the artifacts' names made unique
        (``page.png``, ``page (2).png``); names never leave that folder.
        Into a folder, ``overwrite=False`` also steps around files already there.
        """
        target = Path(dest)
        as_folder = self.is_bundle or target.is_dir() or str(dest).endswith(("/", os.sep))
        if not as_folder:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._copy(self.artifact, target)
            return [target]
        target.mkdir(parents=True, exist_ok=True)
        used: set[str] = set()
        written = []
        for artifact in self.artifacts:
            name = unique_name(
                safe_relpath(artifact.name), used, lambda n: not overwrite and (target / n).exists()
            )
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._copy(artifact, path)
            written.append(path)
        return written

    def _copy(self, artifact: Artifact, path: Path) -> None:
        """Write ``path`` whole or not at all: a copy cut short (a full disk) leaves no ``.part`` behind."""
        tmp = path.with_name(f".{path.name}.part")
        try:
            with refusing_full(repr(path.name)), self.store.open(artifact.id) as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifacts": [a.to_dict() for a in self.artifacts],
            "steps": list(self.steps),
            "warnings": list(self.warnings),
        }


def unique_name(name: str, used: set[str], taken: Callable[[str], bool] = lambda _: False) -> str:
    """``name``, or ``stem (2).ext``, ``stem (3).ext``, ... if already ``used``
    (case-insensitive) or ``taken``."""
    candidate, n = name, 1
    stem, dot, ext = name.rpartition(".") if "." in name.rsplit("/", 1)[-1] else (name, "", "")
    while candidate.lower() in used or taken(candidate):
        n += 1
        candidate = f"{stem} ({n}){dot}{ext}"
    used.add(candidate.lower())
    return candidate


_default: Conversio | None = None
_default_lock = threading.Lock()


def default() -> Conversio:
    """The process-wide instance behind ``conversio.convert`` and friends."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Conversio()
            atexit.register(_default.close)
            # expired files go in the background; the store's locks keep this safe
            threading.Thread(target=_default.store.sweep, name="conversio-sweep", daemon=True).start()
        return _default


def convert(inputs: Input | Sequence[Input], to: str | None = None, **kwargs: Any) -> Conversion:
    """Convert with the default instance: ``conversio.convert("a.png", to="jpg").save("out/")``."""
    return default().convert(inputs, to, **kwargs)


def route(source: str, target: str, **kwargs: Any) -> Route:
    """Route with the default instance: ``print(conversio.route("png", "zip").explain())``."""
    return default().route(source, target, **kwargs)
