"""Markdown → HTML → PDF: conversio (Pandoc, then Chromium) vs ``pandoc`` and Playwright by hand.

    python -m bench.bench_pandoc [--count 50] [--rounds 3]

Goal (issue 21), on ``--count`` Markdown documents of a few KB (headings, lists, a table, links,
code): conversio, one document at a time on one worker, through ``md → html → pdf``
(``via html``: Pandoc's HTML printed by Chromium), ≤ 1.10× the time of the same two engines
called by hand: the ``pandoc`` binary of the same wheel run once per document, then one warm
Chromium driven by Playwright (a fresh context and page per document). Also measured: the route
conversio takes without ``via``, ``md → pdf`` in Chromium alone (its own Markdown renderer).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]

import conversio
from bench.bench_chromium import Playwright
from bench.bench_office import WORDS
from bench.common import cached_samples, median_per_folder, write_report

VIA_HTML = ("pandoc:md->html", "chromium:html->pdf")
DIRECT = ("chromium:md->pdf",)


def title(number: int) -> str:
    """The heading of document ``number``: what the check looks for in its PDF."""
    return f"Field notes {number}: {WORDS[number % len(WORDS)].title()}"


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."


def markdown(number: int) -> str:
    """A document of a few KB: headings, paragraphs with links, a list, a table, a code block."""
    rng = random.Random(number)
    parts = [f"# {title(number)}", "", _sentence(rng), ""]
    for section in range(rng.randint(2, 3)):
        parts += [f"## {rng.choice(WORDS).title()} {section + 1}", ""]
        parts += [
            " ".join(_sentence(rng) for _ in range(3)) + f" See [the notes](https://example.org/{number}).",
            "",
        ]
        parts += [f"- {_sentence(rng)}" for _ in range(rng.randint(3, 5))] + [""]
    columns = [rng.choice(WORDS).title() for _ in range(3)]
    parts += ["| " + " | ".join(columns) + " |", "|---|---:|---:|"]
    parts += [f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} | {rng.randint(1, 999)} |" for _ in range(6)]
    parts += ["", "```python", f"total = sum(range({rng.randint(10, 99)}))", "print(total)", "```", ""]
    return "\n".join(parts)


def samples(count: int) -> list[Path]:
    """``count`` Markdown documents (cached in bench/.data)."""
    return cached_samples(
        "markdown", "notes-{:03d}.md", count, lambda path, i: path.write_text(markdown(i), encoding="utf-8")
    )


def check_folder(folder: Path, sources: list[Path]) -> None:
    """Every source has its PDF in ``folder``, whose first page shows its heading."""
    for source in sources:
        document = pdfium.PdfDocument(folder / f"{source.stem}.pdf")
        try:
            text = " ".join(document[0].get_textpage().get_text_range().split())
        finally:
            document.close()
        assert title(int(source.stem.split("-")[1])) in text, (source.stem, text[:200])


def by_hand(pandoc: str, driver: Playwright, sources: list[Path], out: Path) -> None:
    """Each document made HTML by ``pandoc`` (one run each), then printed by the warm browser."""
    pages = out / "html"
    pages.mkdir()
    for source in sources:
        page = pages / f"{source.stem}.html"
        command = [pandoc, "--sandbox", "-f", "gfm", "-t", "html", "-s", "-o", str(page), str(source)]
        subprocess.run(command, check=True, timeout=60, stderr=subprocess.DEVNULL)
        driver.print_all([page], out)


def through_conversio(app: conversio.Conversio, sources: list[Path], out: Path, via: tuple[str, ...]) -> None:
    for source in sources:
        app.convert(source, to="pdf", via=via).save(out / f"{source.stem}.pdf")


def warm(app: conversio.Conversio, sources: list[Path]) -> None:
    """The worker and its browser started; both routes checked to be the ones measured."""
    assert tuple(s.converter for s in app.route("md", "pdf", via=["html"]).steps) == VIA_HTML
    assert tuple(s.converter for s in app.route("md", "pdf").steps) == DIRECT
    for source in sources[:3]:
        app.convert(source, to="pdf").run()
        app.convert(source, to="pdf", via=["html"]).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    needed = ("conversio_pandoc", "conversio_chromium")
    if shutil.which("chromium") is None or any(importlib.util.find_spec(m) is None for m in needed):
        print(
            "chromium, conversio-pandoc or conversio-chromium not found; to get them: make bootstrap; skipped"
        )
        return
    from conversio_pandoc.engine import pandoc_binary

    pandoc = pandoc_binary()
    paths = samples(args.count)
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-pandoc-"))
    store = (work / "store").as_uri() + "?durable=0"
    load, started = os.getloadavg(), time.strftime("%H:%M UTC", time.gmtime())
    try:
        with conversio.Conversio(store=store, cache=False, workers=1) as app, Playwright() as driver:
            warm(app, paths)
            (work / "warm").mkdir()
            by_hand(pandoc, driver, paths[:2], work / "warm")
            runs: dict[str, Callable[[Path], None]] = {
                "via-html": lambda out: through_conversio(app, paths, out, ("html",)),
                "by-hand": lambda out: by_hand(pandoc, driver, paths, out),
                "direct": lambda out: through_conversio(app, paths, out, ()),
            }
            times = median_per_folder(runs, lambda out: check_folder(out, paths), work, args.rounds)
        version = subprocess.run([pandoc, "--version"], capture_output=True, text=True, check=True).stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, paths, times, (load, os.getloadavg()), started, version.splitlines()[0])


def report(
    args: argparse.Namespace,
    paths: list[Path],
    times: dict[str, float],
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    started: str,
    version: str,
) -> None:
    count = len(paths)
    sizes = [p.stat().st_size / 1000 for p in paths]

    def row(key: str, label: str, comparison: str, goal: str) -> list[str]:
        return [label, f"{times[key]:.2f}", f"{times[key] / count * 1000:.0f}", comparison, goal]

    rows = [
        row("via-html", "conversio, `via html`: Pandoc, then Chromium, 1 worker", "1.00×", "—"),
        row(
            "by-hand",
            f"by hand: `pandoc` ({version}) once per document, then Playwright's warm Chromium",
            f"conversio takes {times['via-html'] / times['by-hand']:.2f}× its time",
            "≤ 1.10×",
        ),
        row(
            "direct",
            "conversio, its own route `md → pdf` (Chromium's Markdown renderer), 1 worker",
            f"{times['direct'] / times['via-html']:.2f}× the time of `via html`",
            "—",
        ),
    ]
    (load, load_after) = loads
    write_report(
        "pandoc",
        f"{count} Markdown documents → HTML → PDF: conversio against Pandoc and Chromium by hand",
        ["run", "seconds (median)", "ms/document", "comparison", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds, started {started}; load average (1 min) "
            f"{load[0]:.2f} before, {load_after[0]:.2f} after (2 cores shared with other work).",
            f"{count} generated Markdown documents of {min(sizes):.1f}–{max(sizes):.1f} KB: headings, links,",
            "lists, a table and a code block. Every output of every round is checked outside the timing:",
            "a PDF whose first page shows the document's heading (pypdfium2).",
            "conversio: Python API, one document at a time, a filesystem store not synced to disk, result",
            f"cache off, each PDF saved to a file; `via html` runs `{VIA_HTML[0]}` (Pandoc sandboxed, heap",
            f"capped, in a private folder) then `{VIA_HTML[1]}` in the worker's warm browser. By hand: the",
            "same Pandoc binary (`pandoc --sandbox -f gfm -t html -s`, one process per document), then the",
            "engine's Chromium binary, launch switches and print arguments through Playwright",
            "(`set_content`, `page.pdf`, a context and page per document).",
        ],
    )


if __name__ == "__main__":
    main()
