"""HTML → PDF: conversio's warm Chromium pool vs Playwright driving the same Chromium, and its CLI.

    python -m bench.bench_chromium [--count 50] [--rounds 3] [--memory 500]

Goals (issue 20), on ``--count`` pages of a few KB (CSS, a PNG, a table): conversio one page at
a time on one worker ≤ 1.10× the time of Playwright driving the same Chromium with one browser
(a fresh context and page per document); ≥ 5× faster than one cold ``chromium --headless
--print-to-pdf`` per page; 2 worker processes ≥ 1.7× faster than 1. Then the RSS of every
worker's browser (its whole process tree) is sampled through ``--memory`` conversions: it must
stay flat.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

import conversio
from bench.bench_office import WORDS
from bench.browser_memory import MemorySampler, browsers
from bench.common import cached_samples, median_per_folder, write_report

CONVERTER = "chromium:html->pdf"
#: A cold run that reaches for nothing: the closed network refuses Google's services.
CLI_SWITCHES = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-pdf-header-footer",
)
#: ``@page`` sets the CLI's paper (it has no option for it) to conversio's defaults: A4, 1 cm.
STYLE = """
@page { size: A4; margin: 1cm; }
body { font: 11pt/1.45 "DejaVu Serif", serif; color: #222; margin: 0; }
header { border-bottom: 2px solid #2a5d8f; margin-bottom: 12px; }
h1 { font: bold 20pt "DejaVu Sans", sans-serif; color: #2a5d8f; margin: 0 0 4px; }
.lead { font-style: italic; color: #555; }
figure { float: right; margin: 0 0 8px 12px; }
figcaption { font-size: 8pt; color: #777; text-align: center; }
table { border-collapse: collapse; width: 100%; margin: 10px 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 3px 6px; text-align: right; }
th { background: #e8eef5; text-align: left; }
.note { border-left: 3px solid #d08a2a; padding-left: 8px; color: #444; }
"""


def picture(rng: random.Random) -> str:
    """A small PNG chart (bars on a gradient), as a data: URI."""
    image = Image.linear_gradient("L").resize((160, 100)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for x in range(10, 150, 20):
        top = rng.randint(10, 85)
        draw.rectangle((x, top, x + 12, 95), fill=(rng.randrange(200), rng.randrange(200), 160))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."


def title(number: int) -> str:
    """The heading of page ``number``: what the check looks for in its PDF."""
    return f"Report {number}: {WORDS[number % len(WORDS)].title()} figures"


def page_html(number: int) -> str:
    """A page of a few KB: styles, a heading, paragraphs, a figure and a table; its text varies."""
    rng = random.Random(number)
    paragraphs = "".join(
        f"<p>{' '.join(_sentence(rng) for _ in range(3))}</p>" for _ in range(rng.randint(4, 7))
    )
    columns = [rng.choice(WORDS).title() for _ in range(4)]
    head = "".join(f"<th>{c}</th>" for c in columns)
    numbers = ["".join(f"<td>{rng.randint(1, 9999)}</td>" for _ in range(3)) for _ in range(6)]
    body = "".join(f"<tr><th>{rng.choice(WORDS)}</th>{cells}</tr>" for cells in numbers)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title(number)}</title>'
        f"<style>{STYLE}</style></head><body><header><h1>{title(number)}</h1>"
        f'<p class="lead">{_sentence(rng)}</p></header>'
        f'<figure><img src="{picture(rng)}" width="160" height="100" alt="chart">'
        f"<figcaption>Figure {number}</figcaption></figure>{paragraphs}"
        f"<table><tr>{head}</tr>{body}</table>"
        f'<p class="note">{_sentence(rng)}</p></body></html>'
    )


def samples(count: int) -> list[Path]:
    """``count`` HTML pages (cached in bench/.data)."""
    return cached_samples(
        "html", "page-{:03d}.html", count, lambda path, i: path.write_text(page_html(i), encoding="utf-8")
    )


def check_pdf(data: bytes, stem: str) -> None:
    """``data`` is a PDF of at least one A4 page whose text has the heading of the page ``stem``."""
    document = pdfium.PdfDocument(data)
    try:
        assert len(document) >= 1, stem
        width, height = document[0].get_size()
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2, (stem, width, height)
        text = document[0].get_textpage().get_text_range()
        assert title(int(stem.split("-")[1])) in text, (stem, text[:200])
    finally:
        document.close()


def check_folder(folder: Path, sources: list[Path]) -> None:
    """Every source has its PDF, ``<stem>.pdf``, in ``folder``."""
    for source in sources:
        check_pdf((folder / f"{source.stem}.pdf").read_bytes(), source.stem)


class Playwright:
    """The engine's Chromium, launched by Playwright with the engine's switches; each document gets
    a fresh context and page."""

    def __init__(self) -> None:
        from conversio_chromium import browser, network
        from conversio_chromium.options import PDF_OPTIONS
        from conversio_chromium.paper import pdf_arguments
        from playwright.sync_api import sync_playwright

        self._driver = sync_playwright().start()
        self.browser = self._driver.chromium.launch(
            executable_path=browser.find_chromium(),
            args=browser.launch_flags(),
            proxy=network.launch_proxy(),  # type: ignore[arg-type]
        )
        #: what the engine prints with by default (A4, 1 cm margins, a tagged PDF)
        self.arguments = pdf_arguments({option.name: option.default for option in PDF_OPTIONS.options})

    def print_all(self, sources: list[Path], out: Path) -> None:
        for source in sources:
            context = self.browser.new_context()
            try:
                page = context.new_page()
                page.set_content(source.read_text(encoding="utf-8"), wait_until="load")
                (out / f"{source.stem}.pdf").write_bytes(page.pdf(**self.arguments))
            finally:
                context.close()

    def __enter__(self) -> Playwright:
        return self

    def __exit__(self, *exc: object) -> None:
        self.browser.close()
        self._driver.stop()


def cli_print(sources: list[Path], out: Path, profile: Path) -> None:
    """One cold ``chromium --headless --print-to-pdf`` per page (sequential, one profile folder)."""
    for source in sources:
        subprocess.run(
            [
                "chromium",
                *CLI_SWITCHES,
                f"--user-data-dir={profile}",
                f"--print-to-pdf={out / f'{source.stem}.pdf'}",
                source.as_uri(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )


def conversio_one_at_a_time(app: conversio.Conversio, sources: list[Path], out: Path) -> None:
    for source in sources:
        app.convert(source, to="pdf").save(out / f"{source.stem}.pdf")


def conversio_bundle(app: conversio.Conversio, sources: list[Path], out: Path) -> None:
    app.convert(sources, to="pdf").save(out)


def warm_pool(app: conversio.Conversio, sources: list[Path]) -> None:
    """Every worker of ``app`` started with its browser, by the route of Chromium's converter."""
    step = app.route("html", "pdf").steps[0]
    assert step.converter == CONVERTER, f"html -> pdf takes {step.converter}, not {CONVERTER}"
    before, workers = len(browsers()), app.health().size
    for _ in range(5):
        app.convert(sources[: 2 * workers], to="pdf").run()
        if len(browsers()) >= before + workers:
            return
    raise RuntimeError(f"{len(browsers()) - before} browsers started for {workers} workers")


def memory_run(app: conversio.Conversio, sources: list[Path], conversions: int) -> MemorySampler:
    """``conversions`` pages (bundles of ``sources``) on ``app``'s pool, its browsers sampled."""
    with MemorySampler() as sampler:
        done = 0
        while done < conversions:
            batch = sources[: conversions - done]
            result = app.convert(batch, to="pdf").run()
            assert len(result.artifacts) == len(batch), len(result.artifacts)
            for artifact in result.artifacts:
                with app.store.open(artifact.id) as stream:
                    check_pdf(stream.read(), Path(artifact.name).stem)
            done += len(batch)
            sampler.stage += 1
    return sampler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", type=int, default=500, help="conversions of the memory run")
    args = parser.parse_args(argv)
    if shutil.which("chromium") is None or importlib.util.find_spec("conversio_chromium") is None:
        print("chromium or conversio-chromium not found; to get them: make bootstrap; skipped")
        return
    paths = samples(args.count)
    work = Path(tempfile.mkdtemp(prefix="conversio-bench-chromium-"))
    profile = work / "cli-profile"
    store = (work / "store").as_uri() + "?durable=0"
    load = os.getloadavg()
    started = time.strftime("%H:%M UTC", time.gmtime())
    try:
        with conversio.Conversio(store=store, cache=False, workers=2) as pool:
            with conversio.Conversio(store=store, cache=False, workers=1) as single, Playwright() as driver:
                # warm up: the workers and their browsers, Playwright's browser, the CLI's profile
                warm_pool(pool, paths)
                warm_pool(single, paths)
                driver.print_all(paths[:2], work)
                cli_print(paths[:1], work, profile)
                runs: dict[str, Callable[[Path], None]] = {
                    "one-at-a-time": lambda out: conversio_one_at_a_time(single, paths, out),
                    "playwright": lambda out: driver.print_all(paths, out),
                    "cli": lambda out: cli_print(paths, out, profile),
                    "bundle-1": lambda out: conversio_bundle(single, paths, out),
                    "bundle-2": lambda out: conversio_bundle(pool, paths, out),
                }
                times = median_per_folder(runs, lambda out: check_folder(out, paths), work, args.rounds)
            memory = memory_run(pool, paths, args.memory)
            worker_tasks = pool.engine.executor.max_tasks  # type: ignore[attr-defined]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    report(args, paths, times, memory, (load, load_after), started, worker_tasks)


def report(
    args: argparse.Namespace,
    paths: list[Path],
    times: dict[str, float],
    memory: MemorySampler,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    started: str,
    worker_tasks: int,
) -> None:
    from conversio_chromium import browser

    count = len(paths)
    sizes = [p.stat().st_size / 1000 for p in paths]

    def row(key: str, label: str, comparison: str, goal: str) -> list[str]:
        return [label, f"{times[key]:.2f}", f"{times[key] / count * 1000:.0f}", comparison, goal]

    def ratio(slow: str, fast: str) -> float:
        return times[slow] / times[fast]

    rows = [
        row("one-at-a-time", "conversio, one page at a time, 1 worker", "1.00×", "—"),
        row(
            "playwright",
            "Playwright driving the same Chromium: one browser, a context and page per page",
            f"conversio takes {ratio('one-at-a-time', 'playwright'):.2f}× its time",
            "≤ 1.10×",
        ),
        row(
            "cli",
            "`chromium --headless --print-to-pdf`, cold, once per page",
            f"conversio {ratio('cli', 'bundle-2'):.1f}× faster (bundle, 2 workers); "
            f"{ratio('cli', 'one-at-a-time'):.1f}× (one at a time)",
            "≥ 5×",
        ),
        row("bundle-1", f"conversio, the {count} as one bundle, 1 worker", "—", "—"),
        row(
            "bundle-2",
            f"conversio, the {count} as one bundle, 2 workers",
            f"{ratio('bundle-1', 'bundle-2'):.2f}× faster than 1 worker",
            "≥ 1.7×",
        ),
    ]
    (load, load_after) = loads
    write_report(
        "chromium",
        f"{count} HTML pages → PDF with Chromium: conversio's warm pool, Playwright, the CLI",
        ["run", "seconds (median)", "ms/page", "comparison", "goal"],
        rows,
        [
            f"Median of {args.rounds} interleaved rounds, started {started}; load average (1 min) "
            f"{load[0]:.2f} before, {load_after[0]:.2f} after (2 cores shared with other work).",
            f"{count} generated pages of {min(sizes):.1f}–{max(sizes):.1f} KB: styles, a heading, text,",
            "a table, a PNG chart as a data: URI; each prints to one or two A4 pages (`@page` and the",
            "options say A4, 1 cm margins).",
            "Every output of every round is checked outside the timing: a PDF of A4 pages whose text has",
            "the page's heading (pypdfium2).",
            f"conversio: Python API, the route `{CONVERTER}`, a filesystem store not synced to disk, result",
            "cache off, each result saved to a file; a warm browser in each worker process. Playwright:",
            "the engine's Chromium binary, launch switches and print arguments; `set_content`, then",
            "`page.pdf`, the PDF written to a file. CLI: the `chromium` command, a fresh browser per page,",
            f"`{' '.join(CLI_SWITCHES)}`, one profile folder created during warm-up and reused.",
            "",
            f"Memory: {args.memory} conversions (bundles of {count}) on the 2-worker pool; each browser's",
            "whole process tree (browser, renderers, GPU and utility processes) sampled every 0.25 s",
            "with psutil. RSS counts shared pages in every process; PSS divides them among them.",
            f"The engine replaces a browser after {browser.max_pages()} pages ({browser.MAX_PAGES_ENV}); the",
            f"pool replaces a worker process, with its browser, after {worker_tasks} tasks.",
            "",
            *memory.table(),
            "",
            f"Peak PSS of all browsers together, per bundle of {count} in turn: {memory.stage_line()} MB.",
        ],
    )


if __name__ == "__main__":
    main()
