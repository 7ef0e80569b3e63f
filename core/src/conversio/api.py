"""The Python API: ``Conversio`` (an instance of the framework), lazy
``Conversion`` chains and their ``Result``."""

from __future__ import annotations

import atexit
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeAlias

import attrs

from conversio.converters import ConverterSpec, safe_relpath
from conversio.engine.executors import Executor, make_executor
from conversio.engine.incoming import FileState, Incoming, settled
from conversio.engine.runner import ConvertStage, Engine, Item, OperationStage, Stage
from conversio.errors import ConversioError, InvalidRequest
from conversio.events import Event, EventHandler, EventKind
from conversio.formats import ANY, Format
from conversio.limits import Limits
from conversio.plugins import PluginHost, PluginInfo, PluginPolicy
from conversio.routing import Route, RoutePreferences
from conversio.sniffing import Sniffed, read_head, sniff_head
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.space import refusing_full

#: A local file, a stored artifact, the result of another conversion, or a file the caller is
#: storing itself (:class:`~conversio.engine.incoming.Incoming`, already sniffed).
Input: TypeAlias = "str | os.PathLike[str] | Artifact | Result | Incoming"


#: How long the default per-user store keeps files (a cache: content can be made again).
CACHE_RETENTION = 7 * 24 * 3600


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
    pool of killable worker processes, the default) or ``"inline"``.
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
        cache: bool = True,
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
            cache=cache,
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
        return self._sniff_local(Path(path), name)[0]

    def _sniff_local(self, local: Path, name: str | None = None) -> tuple[Sniffed, FileState]:
        """What :meth:`sniff` says of ``local``, and the file's state when it was read."""
        head, info = read_head(local)
        return self._sniff_head(head, local, name or local.name), FileState.of(info)

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

    def starts_early(self, size: int) -> bool:
        """Whether inputs of ``size`` bytes (together) are converted while the store takes them in:
        with the result cache off, or when they are big (:data:`EARLY_START_BYTES`)."""
        return not self.engine.cache or size >= EARLY_START_BYTES

    @contextmanager
    def _ingesting(self, items: Sequence[Input], warnings: list[str]) -> Iterator[list[Item]]:
        """The inputs as the engine takes them; every local file is stored before this ends.

        Local files are sniffed here and stored by background threads. When
        :meth:`starts_early` says so, the first step reads them in place meanwhile
        (:class:`~conversio.engine.incoming.Incoming`); otherwise the engine gets them
        stored, so a cached result can answer at once.
        An ``Incoming`` the caller made (and stores itself) follows the same rule.
        """
        # every file sniffed before any is stored: a bad input stores nothing, and the sniffing
        # does not wait on the storing threads for the interpreter lock
        found: list[Item | _Sniffed] = []
        for item in items:
            if isinstance(item, Result):
                found.extend(item.artifacts)
            elif isinstance(item, Artifact):
                found.append(self.store.get(item.id))
            elif isinstance(item, Incoming):
                found.append(item)
            else:
                found.append(self._sniffed(Path(item), warnings))
        local = [i for i in found if isinstance(i, _Sniffed)]
        sizes = [i.state.size for i in found if isinstance(i, _Sniffed | Incoming)]
        early = bool(sizes) and self.starts_early(sum(sizes))
        threads = _put_threads(len(local), sum(i.state.size for i in local))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="conversio-put") as pool:
            incoming = [self._incoming(i, pool) if isinstance(i, _Sniffed) else i for i in found]
            yield incoming if early else [settled(i) for i in incoming]

    def _sniffed(self, local: Path, warnings: list[str]) -> _Sniffed:
        sniffed, state = self._sniff_local(local)
        if sniffed.warning:
            warnings.append(f"{local.name}: {sniffed.warning}")
        return _Sniffed(local, sniffed.format, state)

    def _incoming(self, local: _Sniffed, pool: ThreadPoolExecutor) -> Incoming:
        """``local`` on its way into the store."""
        stored = pool.submit(self.store.put_file, local.path, name=local.path.name, format=local.format)
        return Incoming(local.path, local.path.name, local.format, stored, local.state)


@attrs.frozen
class _Sniffed:
    """A caller's file, its sniffed format and its state when sniffed."""

    path: Path
    format: str
    state: FileState


#: Local inputs are stored several at a time only when they are this big on average: for
#: smaller ones the threads cost more than they save (50 PDFs of 18 KB: 46 ms threaded, 22 ms not).
THREADED_INGEST_BYTES = 512 * 1024
#: With the result cache on, the first step waits for its inputs to be stored (their hashes
#: find a cached result) unless they are this big together: then storing them costs more
#: than a speculative start the cache may stop (:meth:`Conversio._ingesting`).
EARLY_START_BYTES = 16 * 1024 * 1024


def _put_threads(count: int, total: int) -> int:
    """Threads to store ``count`` local files of ``total`` bytes with: one a core for several
    big files (hashing and copying release the GIL), else one."""
    big = count > 1 and total >= THREADED_INGEST_BYTES * count
    return (os.cpu_count() or 1) if big else 1


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

    def plan(self) -> list[Route]:
        """The routes each stage would take: inputs are sniffed, nothing is stored or run."""
        formats: list[str] = []
        for item in self.inputs:
            if isinstance(item, Result):
                formats.extend(a.format for a in item.artifacts)
            elif isinstance(item, Artifact):
                formats.append(self.app.store.get(item.id).format)
            elif isinstance(item, Incoming):
                formats.append(item.format)
            else:
                formats.append(self.app.sniff(item).format)
        return self.app.engine.plan(formats, self.stages, self.preferences)

    def run(self, *, on_event: EventHandler | None = None, cancel: threading.Event | None = None) -> Result:
        """Run the chain; every intermediate result stays in the store."""
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
