"""The generated blocks of the docs.

A block is written into its page between ``<!-- generated: NAME -->`` and
``<!-- end generated: NAME -->``, so every page reads completely in the repository
itself. Nothing inside a block is kept by hand: the formats, converters, error
codes, exit codes, CLI help, Python API and hook reference, corpus results and the
server guide are read from conversio, its plugins and their READMEs.

    python docs/hooks/generated.py --write   # after changing what a block shows
    python docs/hooks/generated.py --check   # what `tox run -e docs` runs: stale blocks fail
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import api_reference
import click

import conversio
import conversio.plugin
import conversio.testing
from conversio.cli import EXIT_CODES, cli
from conversio.converters import ConverterSpec
from conversio.errors import ERRORS_BY_CODE, ConversioError
from conversio.plugins import PluginHost, PluginPolicy
from conversio.routing import Router

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
#: A generated block: its opening marker, what it holds now, its closing marker (absent before
#: the first ``--write``).
BLOCK = re.compile(
    r"<!--\s*generated:\s*(?P<name>[a-z-]+)\s*-->"
    r"(?:(?P<body>.*?)<!--\s*end generated:\s*(?P=name)\s*-->)?",
    re.S,
)
#: Help texts are laid out for this width wherever the docs are generated.
HELP_WIDTH = 100


def fill(markdown: str, where: str = "") -> str:
    """``markdown`` with every generated block made anew."""

    def block(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise KeyError(f"{where}: unknown generated block {name!r}")
        return f"<!-- generated: {name} -->\n\n{GENERATORS[name]().strip()}\n\n<!-- end generated: {name} -->"

    return BLOCK.sub(block, markdown)


def main(argv: list[str]) -> int:
    """``--write`` the blocks of every page, or ``--check`` that none is stale (exit 1)."""
    if argv not in (["--write"], ["--check"]):
        print("usage: python docs/hooks/generated.py --write | --check", file=sys.stderr)
        return 2
    stale = []
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        made = fill(text, str(page.relative_to(ROOT)))
        if made != text:
            stale.append(str(page.relative_to(ROOT)))
            if argv == ["--write"]:
                page.write_text(made, encoding="utf-8")
    if stale and argv == ["--check"]:
        print("stale generated blocks in: " + ", ".join(stale), file=sys.stderr)
        print("run: python docs/hooks/generated.py --write (in the docs tox env)", file=sys.stderr)
        return 1
    return 0


def _host() -> PluginHost:
    """Every installed plugin, whatever CONVERSIO_* says in the environment."""
    return PluginHost(autoload=True, policy=PluginPolicy(strict=True))


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _loaded_from(host: PluginHost) -> str:
    plugins = ", ".join(f"{p.name} {p.version}".strip() for p in host.plugins if p.status == "loaded")
    return f"*Generated from the plugins of this repository: {plugins}.*"


# -- formats and converters ------------------------------------------------------------------------
def formats() -> str:
    host = _host()
    registry = host.registry
    router = Router(registry)
    rows = []
    for fmt in registry.formats:
        # Any file can be packed into an archive: list archives only for archives, or the column
        # would say "7z, tar, ..., zip" for every format.
        keep_archives = registry.formats.is_archive(fmt.name)
        reachable = sorted(
            f for f in router.reachable(fmt.name) if keep_archives or not registry.formats.is_archive(f)
        )
        rows.append(
            [
                f"`{fmt.name}`",
                fmt.kind.value,
                ", ".join(fmt.extensions),
                fmt.media_type,
                fmt.description,
                ", ".join(reachable) if reachable else "—",
            ]
        )
    header = ["format", "kind", "extensions", "media type", "description", "converts to"]
    return _loaded_from(host) + "\n\n" + _table(header, rows)


def _options(spec: ConverterSpec) -> str:
    shown = []
    for option in spec.options:
        default = "" if option.default is None or option.secret else f"={option.default!r}"
        shown.append(f"`{option.name}{default}`")
    return ", ".join(shown) or "—"


def converters() -> str:
    host = _host()
    specs = sorted(host.registry.edges(), key=lambda s: s.id)
    rows = [
        [
            f"`{s.id}`",
            s.source,
            s.target,
            s.cardinality.value,
            f"{s.cost:g}",
            "yes" if s.lossy else "",
            _options(s),
        ]
        for s in specs
    ]
    header = ["converter", "from", "to", "cardinality", "cost", "lossy", "options"]
    return _loaded_from(host) + "\n\n" + (_table(header, rows) if rows else "*No converter is installed.*")


def operations() -> str:
    host = _host()
    specs = sorted((s for s in host.registry.converters.values() if s.operation), key=lambda s: s.id)
    rows = [[f"`{s.operation}`", f"`{s.id}`", s.source, s.cardinality.value, _options(s)] for s in specs]
    header = ["operation", "converter", "applies to", "cardinality", "options"]
    return _table(header, rows) if rows else "*No operation is installed.*"


# -- errors and the command line --------------------------------------------------------------------
def errors() -> str:
    rows = []
    for code, cls in sorted(ERRORS_BY_CODE.items()):
        meaning = (cls.__doc__ or "").strip().splitlines()[0]
        rows.append([f"`{code}`", f"`{cls.__name__}`", str(EXIT_CODES.get(code, 1)), meaning])
    undocumented = sorted(set(EXIT_CODES) - set(ERRORS_BY_CODE))
    if undocumented:
        raise ValueError(f"EXIT_CODES names codes without an error class: {undocumented}")
    base = ConversioError.__name__
    return _table(["code", f"class (a {base})", "CLI exit code", "meaning"], rows)


def exit_codes() -> str:
    by_exit: dict[int, list[str]] = {0: []}
    for code, status in EXIT_CODES.items():
        by_exit.setdefault(status, []).append(code)
    rows = [["0", "success", ""]]
    for status in sorted(s for s in by_exit if s):
        codes = ", ".join(f"`{c}`" for c in sorted(by_exit[status]))
        rows.append([str(status), _EXIT_MEANING.get(status, ""), codes])
    return _table(["exit code", "meaning", "error codes"], rows)


_EXIT_MEANING = {
    1: "the conversion failed, or the input is damaged or empty",
    2: "invalid usage, request, option or password (also click's own usage errors)",
    3: "unsupported format or encryption, a name that disagrees with the content, or no route",
    4: "a missing dependency or a broken plugin",
    5: "a time or size limit was reached, or the disk is full",
    130: "cancelled (Ctrl-C)",
}


def cli_help() -> str:
    root = click.Context(cli, info_name="conversio", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH)
    parts = ["```text", "$ conversio --help", cli.get_help(root), "```"]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        if command is None or command.hidden:
            continue
        ctx = click.Context(command, info_name=name, parent=root)
        parts += ["", f"### `conversio {name}`", "", "```text", f"$ conversio {name} --help"]
        parts += [command.get_help(ctx), "```"]
    return "\n".join(parts)


# -- plugins and their corpus results ------------------------------------------------------------
def _plugin_dirs() -> list[Path]:
    return sorted(p for p in (ROOT / "plugins").glob("conversio-*") if (p / "pyproject.toml").is_file())


def plugins() -> str:
    rows = []
    for path in _plugin_dirs():
        project = tomllib.loads((path / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        rows.append([f"`{project['name']}`", project.get("description", ""), f"`plugins/{path.name}/`"])
    return _table(["distribution", "what it adds", "source"], rows) if rows else "*No plugin yet.*"


_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _section(markdown: str, title: re.Pattern[str]) -> str | None:
    """The body of the first section whose heading matches ``title`` (up to the next heading as high)."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        found = _HEADING.match(line)
        if found and title.search(found.group(2)):
            level = len(found.group(1))
            body = []
            for rest in lines[i + 1 :]:
                heading = _HEADING.match(rest)
                if heading and len(heading.group(1)) <= level:
                    break
                body.append(rest)
            return _demote("\n".join(body).strip(), level, 3)
    return None


def _demote(markdown: str, level: int, to: int) -> str:
    shift = to - level - 1

    def heading(match: re.Match[str]) -> str:
        return "#" * min(6, len(match.group(1)) + shift) + " " + match.group(2)

    return re.sub(r"^(#{1,6})\s+(.*)$", heading, markdown, flags=re.M)


def corpus() -> str:
    parts = []
    for path in _plugin_dirs():
        readme = path / "README.md"
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        section = _section(text, re.compile("corpus", re.I))
        parts += [f"## {path.name}", "", section or "*No corpus results reported yet.*", ""]
    return "\n".join(parts) if parts else "*No plugin yet.*"


# -- the Python API and the hooks ------------------------------------------------------------------
def api() -> str:
    """Every public name of ``conversio``, grouped by the module that defines it."""
    return api_reference.names("conversio", conversio.__all__)


def plugin_api() -> str:
    """``conversio.plugin``: the names it shares with ``conversio`` listed, the others described."""
    shared = [n for n in conversio.plugin.__all__ if n in conversio.__all__]
    own = [n for n in conversio.plugin.__all__ if n not in conversio.__all__]
    listed = ", ".join(f"`{n}`" for n in shared)
    return f"Also here, as described above: {listed}.\n\n" + api_reference.names("conversio.plugin", own)


def testing_api() -> str:
    return api_reference.names("conversio.testing", conversio.testing.__all__)


def hook_specs() -> str:
    return api_reference.hook_specs("conversio.hookspecs")


# -- plugin guides ---------------------------------------------------------------------------------
def plugin_guide(distribution: str) -> Callable[[], str]:
    """The README of ``plugins/<distribution>``, less its title (the page has its own)."""

    def guide() -> str:
        text = (ROOT / "plugins" / distribution / "README.md").read_text(encoding="utf-8")
        body = text.split("\n", 1)[1]
        # links written for the repository, made relative to docs/how-to/
        return (
            body.replace("](../../core)", "](../index.md)")
            .replace("](../../README.md)", "](../index.md)")
            .replace("](../../docs/", "](../")
        )

    return guide


GENERATORS: dict[str, Callable[[], str]] = {
    "formats": formats,
    "converters": converters,
    "operations": operations,
    "errors": errors,
    "exit-codes": exit_codes,
    "cli-help": cli_help,
    "plugins": plugins,
    "corpus": corpus,
    "server-guide": plugin_guide("conversio-server"),
    "chromium-guide": plugin_guide("conversio-chromium"),
    "ocr-guide": plugin_guide("conversio-ocr"),
    "pandoc-guide": plugin_guide("conversio-pandoc"),
    "pdf2docx-guide": plugin_guide("conversio-pdf2docx"),
    "api": api,
    "plugin-api": plugin_api,
    "testing-api": testing_api,
    "hook-specs": hook_specs,
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
