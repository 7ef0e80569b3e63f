"""The ``conversio`` command line: a thin face over :mod:`conversio.api`.

Exit codes: 0 success; 1 the conversion failed (``CONVERSION_FAILED``,
``CORRUPT_FILE``, ``EMPTY_FILE``, ``NO_TEXT_LAYER``); 2 invalid usage, request, option or
password; 3 unsupported format or encryption, a name that disagrees with the content, or
no route; 4 a missing dependency or broken plugin; 5 a timeout, a size limit or a full
disk; 130 cancelled (Ctrl-C).

A process builds one :class:`~conversio.api.Conversio` (and so one plugin host), used by
every command it runs and by the plugins' own commands.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conversio.cli_values import parse_pairs, parse_then
from conversio.errors import ConversioError, InvalidRequest, MissingDependency

if TYPE_CHECKING:
    from conversio.api import Conversio

F = TypeVar("F", bound=Callable[..., Any])

#: A ``convert`` input that is a web address rather than a file.
_WEB_ADDRESS = re.compile(r"^https?://", re.IGNORECASE)

EXIT_CODES = {
    "CONVERSION_FAILED": 1,
    "CORRUPT_FILE": 1,
    "EMPTY_FILE": 1,
    "NO_TEXT_LAYER": 1,
    "INVALID_REQUEST": 2,
    "INVALID_OPTION": 2,
    "INVALID_PASSWORD": 2,
    "FILE_NOT_FOUND": 2,
    "UNSUPPORTED_FORMAT": 3,
    "FORMAT_MISMATCH": 3,
    "UNSUPPORTED_ENCRYPTION": 3,
    "NO_ROUTE": 3,
    "MISSING_DEPENDENCY": 4,
    "PLUGIN_ERROR": 4,
    "TIMEOUT": 5,
    "FILE_TOO_LARGE": 5,
    "INSUFFICIENT_STORAGE": 5,
    "STORE_UNAVAILABLE": 5,
    "CANCELLED": 130,
}


def _emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def handles_errors(fn: F) -> F:
    """Add ``--json`` and ``--debug``; print a ConversioError as code + message, not a traceback."""

    @click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
    @click.option("--debug", is_flag=True, help="Show tracebacks.")
    @functools.wraps(fn)
    def wrapper(*args: Any, as_json: bool, debug: bool, **kwargs: Any) -> Any:
        try:
            return fn(*args, as_json=as_json, **kwargs)
        except ConversioError as exc:
            if debug:
                raise
            if as_json:
                _emit_json({"ok": False, "error": exc.to_dict()})
            else:
                click.secho(f"error {exc.code}: {exc.message}", fg="red", err=True)
                hint = exc.details.get("install_hint")
                if hint:
                    click.echo(f"hint: {hint}", err=True)
            sys.exit(EXIT_CODES.get(exc.code, 1))
        except KeyboardInterrupt:
            click.echo("cancelled", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@functools.cache
def _app(cache: bool = True) -> Conversio:
    """The one Conversio of this process: the Python API's default instance, or one with the
    result cache off (``convert --no-cache``)."""
    from conversio import api

    if cache:
        return api.default()
    app = api.Conversio(cache=False)
    atexit.register(app.close)
    return app


class _Cli(click.Group):
    """The root group; plugins add commands through the ``register_commands`` hook."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        """Add the plugins' commands, unless the plugins cannot load (a broken plugin in strict
        mode): the command run then reports that as an error."""
        if not self._plugins_added:
            self._plugins_added = True
            try:
                host = _app().host
            except ConversioError:
                return
            host.add_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command


ENVIRONMENT = """\b
Environment:
  CONVERSIO_STORE            where files and cached results are kept (a store URL)
  CONVERSIO_CACHE=0          never reuse a cached result (as convert --no-cache)
  CONVERSIO_LOAD_PLUGINS     load only these plugins (comma-separated names)
  CONVERSIO_DISABLE_PLUGINS  never load these plugins
  CONVERSIO_STRICT_PLUGINS=1 a broken plugin is an error, not skipped
  CONVERSIO_TRACE_HOOKS=1    write every plugin hook call to stderr
  CONVERSIO_<LIMIT>          a limit, such as CONVERSIO_TIMEOUT=60
"""


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]}, epilog=ENVIRONMENT)
@click.version_option(package_name="conversio")
def cli() -> None:
    """Convert files through a graph of pluggable converters."""


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--to",
    "target",
    help="Target format (jpg, pdf, zip, ...); without it, --then starts from the inputs as they are.",
)
@click.option("--via", multiple=True, help="Pass through this format on the way (repeatable).")
@click.option(
    "--then",
    "then",
    multiple=True,
    metavar="OP[:k=v,...]",
    help="Then apply an operation or convert to a format (repeatable); a value with commas is "
    'quoted (k="a,b") or JSON (k={...}), and k=@FILE reads it from a file.',
)
@click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the conversion (repeatable); KEY=@FILE reads the value from a file.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),  # a str: a trailing slash (a folder) survives
    help="Output file, or folder for many results (a name ending in / is always a folder).",
)
@click.option("--prefer", multiple=True, help="Prefer this converter, engine or plugin (repeatable).")
@click.option("--avoid", multiple=True, help="Never use this converter, engine or plugin (repeatable).")
@click.option("--max-hops", type=int, help="At most this many steps.")
@click.option(
    "--no-cache",
    "no_cache",
    is_flag=True,
    help="Convert anew, never reusing a cached result (CONVERSIO_CACHE=0 does the same).",
)
@handles_errors
def convert(
    inputs: tuple[str, ...],
    target: str | None,
    via: tuple[str, ...],
    then: tuple[str, ...],
    options: tuple[str, ...],
    output: str | None,
    prefer: tuple[str, ...],
    avoid: tuple[str, ...],
    max_hops: int | None,
    no_cache: bool,
    as_json: bool,
) -> None:
    """Convert INPUTS (files, or http and https web addresses) to a format, optionally through
    waypoints and further steps."""
    from conversio.progress import ProgressView

    if target is None and not then:
        raise InvalidRequest("give the format to convert to (--to) or the steps to take (--then)")

    app = _app(cache=False) if no_cache else _app()
    folder = Path(tempfile.mkdtemp(prefix="conversio-web-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    files = [_input_file(text, folder, app) for text in inputs]
    conversion = app.convert(
        files,
        target,
        via=via,
        options=parse_pairs(options, "-O"),
        prefer=prefer,
        avoid=avoid,
        max_hops=max_hops,
    )
    for step in then:
        name, step_options = parse_then(step)
        conversion = conversion.then(name, **step_options)
    with ProgressView(enabled=not as_json) as view:
        result = conversion.run(on_event=view.handle)
    # without -o nothing already there is overwritten (the input itself least of all)
    label = target or then[-1].partition(":")[0].strip()
    dest = output or _default_output(files[0], label, result.is_bundle)
    saved = result.save(dest, overwrite=output is not None)
    if as_json:
        _emit_json({"ok": True, **result.to_dict(), "saved": [str(p) for p in saved]})
        return
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.echo("route taken:")
    for i, step_text in enumerate(result.steps, 1):
        click.echo(f"  {i}. {step_text}")
    where = dest if result.is_bundle else saved[0]
    click.echo(f"saved {len(saved)} file{'s' * (len(saved) != 1)} to {where}")


def _input_file(text: str, folder: Path, app: Conversio) -> Path:
    """An input as a file: a path as it is, a web address as a ``.url`` file that holds it."""
    if not _WEB_ADDRESS.match(text):
        return Path(text)
    if "url" not in app.registry.formats:
        raise MissingDependency(
            f"{text} is a web address, and no installed plugin loads web pages; "
            "pip install conversio-chromium",
            module="conversio_chromium",
        )
    host = urllib.parse.urlsplit(text).hostname or "page"
    path = folder / f"{len(list(folder.iterdir())) + 1}" / f"{host}.url"
    path.parent.mkdir()
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _default_output(first: Path, target: str, bundle: bool) -> Path:
    """A folder ``<stem>-<target>`` for a bundle; the current folder for one file."""
    stem = first.name.split(".", 1)[0] or "output"
    return Path(f"{stem}-{target}") if bundle else Path(".")


@cli.command()
@click.argument("source")
@click.argument("target")
@click.option("--via", multiple=True, help="Pass through this format (repeatable).")
@click.option("--explain", is_flag=True, help="Show each step and the best alternatives.")
@click.option("--prefer", multiple=True, help="Prefer this converter, engine or plugin.")
@click.option("--avoid", multiple=True, help="Never use this converter, engine or plugin.")
@click.option("--max-hops", type=int, help="At most this many steps.")
@handles_errors
def route(
    source: str,
    target: str,
    via: tuple[str, ...],
    explain: bool,
    prefer: tuple[str, ...],
    avoid: tuple[str, ...],
    max_hops: int | None,
    as_json: bool,
) -> None:
    """Show the route from SOURCE format to TARGET format."""
    found = _app().route(source, target, via=via, prefer=prefer, avoid=avoid, max_hops=max_hops)
    if as_json:
        _emit_json(found.to_dict())
    elif explain:
        click.echo(found.explain())
    else:
        click.echo(str(found))


@cli.command()
@handles_errors
def formats(as_json: bool) -> None:
    """List the known formats."""
    rows = [
        {
            "name": f.name,
            "kind": f.kind.value,
            "extensions": list(f.extensions),
            "media_types": list(f.media_types),
            "aliases": list(f.aliases),
            "description": f.description,
        }
        for f in _app().formats
    ]
    if as_json:
        _emit_json(rows)
        return
    for row in rows:
        exts = ", ".join(row["extensions"])
        click.echo(f"{row['name']:<8} {row['kind']:<12} {exts:<24} {row['description']}")


@cli.command()
@click.option("--from", "source", help="Only converters from this format.")
@click.option("--to", "target", help="Only converters to this format.")
@handles_errors
def converters(source: str | None, target: str | None, as_json: bool) -> None:
    """List converters and operations."""
    specs = _app().converters(source, target)
    if as_json:
        _emit_json([s.describe() for s in specs])
        return
    for spec in specs:
        kind = f"op {spec.operation}" if spec.operation else spec.cardinality.value
        opts = ", ".join(o.name for o in spec.options)
        click.echo(f"{spec.id:<44} {kind:<14} cost {spec.cost:<4g} {opts}")


@cli.command()
@handles_errors
def plugins(as_json: bool) -> None:
    """List plugins with their versions, and broken or disabled ones with the reason."""
    infos = _app().plugins
    if as_json:
        _emit_json([p.to_dict() for p in infos])
        return
    for info in infos:
        line = f"{info.name:<12} {info.status:<9} {info.distribution} {info.version}"
        if info.reason:
            line += f"  ({info.reason})"
        click.echo(line)


@cli.group()
def plugin() -> None:
    """Start a plugin of your own."""


@plugin.command()
@click.argument("name")
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder to write the project into.",
)
@handles_errors
def new(name: str, dest: Path, as_json: bool) -> None:
    """Write a plugin project conversio-NAME, with tests that pass once it is installed."""
    from conversio.scaffold import create

    project = create(name, dest)
    if as_json:
        _emit_json({"ok": True, "path": str(project)})
    else:
        click.echo(f"wrote {project}; next: pip install -e '{project}[test]' and run pytest there")


def main() -> None:
    cli(prog_name="conversio")
