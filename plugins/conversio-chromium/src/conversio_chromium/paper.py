"""The PDF options in the browser's terms: paper, margins and page ranges, checked before loading."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conversio.errors import InvalidOption

MM = 1 / 25.4
#: Inches per unit; a bare number is in inches.
UNITS = {"in": 1.0, "cm": 10 * MM, "mm": MM, "pt": 1 / 72, "px": 1 / 96}
#: Portrait width and height in inches.
PAPERS = {
    "a0": (841 * MM, 1189 * MM),
    "a1": (594 * MM, 841 * MM),
    "a2": (420 * MM, 594 * MM),
    "a3": (297 * MM, 420 * MM),
    "a4": (210 * MM, 297 * MM),
    "a5": (148 * MM, 210 * MM),
    "a6": (105 * MM, 148 * MM),
    "letter": (8.5, 11.0),
    "legal": (8.5, 14.0),
    "tabloid": (11.0, 17.0),
    "ledger": (17.0, 11.0),
}
SIDES = ("top", "right", "bottom", "left")
#: The largest paper side Chromium is asked for (a bigger one is a typo, or a way to exhaust it).
MAX_SIDE_INCHES = 200.0
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(in|cm|mm|pt|px)?\s*$", re.IGNORECASE)
#: A print-dialog page range: ``1-3,5,8-``.
_PAGES = re.compile(r"^\s*\d+\s*(-\s*\d*\s*)?(,\s*\d+\s*(-\s*\d*\s*)?)*$")


def inches(option: str, value: str) -> float:
    """A length option (``210mm``, ``8.5in``, ``1cm``, ``96px``, ``12pt``, ``8.5``) in inches."""
    match = _LENGTH.match(str(value))
    if not match:
        raise InvalidOption(
            f"{option}={value!r} is not a length such as 210mm, 8.5in, 1cm, 96px or 12pt", option=option
        )
    return float(match.group(1)) * UNITS[(match.group(2) or "in").lower()]


def page_ranges(value: str | None) -> str:
    """``pages`` as Chromium reads it (``1-3,5,8-``); empty for every page."""
    if not value:
        return ""
    if not _PAGES.match(value):
        raise InvalidOption(f"pages={value!r} is not a page range like 1-3,5,8-", option="pages")
    for part in value.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if int(first) < 1 or (last and int(last) < int(first)):
            raise InvalidOption(f"pages={value!r}: {part} is not a range of pages from 1", option="pages")
    return value.replace(" ", "")


def pdf_arguments(options: Mapping[str, Any]) -> dict[str, Any]:
    """Playwright's ``page.pdf`` arguments for ``options``; INVALID_OPTION for a bad one."""
    width, height = PAPERS[options.get("paper") or "a4"]
    if options.get("paper_width"):
        width = inches("paper_width", options["paper_width"])
    if options.get("paper_height"):
        height = inches("paper_height", options["paper_height"])
    for name, side in (("paper_width", width), ("paper_height", height)):
        if not 0 < side <= MAX_SIDE_INCHES:
            raise InvalidOption(f"{name} must be above 0 and at most {MAX_SIDE_INCHES:g}in", option=name)
    margins = {side: inches(f"margin_{side}", options.get(f"margin_{side}") or "0") for side in SIDES}
    landscape = bool(options.get("landscape"))
    across, down = (height, width) if landscape else (width, height)
    if margins["left"] + margins["right"] >= across or margins["top"] + margins["bottom"] >= down:
        raise InvalidOption("the margins leave no room on the paper for the page", option="margin_left")
    header, footer = options.get("header_html"), options.get("footer_html")
    return {
        "width": f"{width:.4f}in",
        "height": f"{height:.4f}in",
        "margin": {side: f"{length:.4f}in" for side, length in margins.items()},
        "landscape": landscape,
        "scale": float(options.get("scale") or 1.0),
        "page_ranges": page_ranges(options.get("pages")),
        "print_background": bool(options.get("print_background")),
        "prefer_css_page_size": bool(options.get("prefer_css_page_size")),
        # Either template shows both: the one not given is empty rather than Chromium's default.
        "display_header_footer": bool(header or footer),
        "header_template": header or "<span></span>",
        "footer_template": footer or "<span></span>",
        "tagged": bool(options.get("tagged", True)),
        "outline": bool(options.get("outline")),
    }
