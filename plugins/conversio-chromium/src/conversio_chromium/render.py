"""A loaded page printed to PDF or captured as an image.

Screenshots are taken through the DevTools protocol's own capture, which encodes PNG, JPEG and
WebP itself (no image library in the engine's way), of a rectangle this module works out: the
viewport, the whole page or the ``clip``, refused before any pixel is drawn when it is larger
than ``Limits.max_pixels``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conversio.errors import FileTooLarge, InvalidOption
from conversio.limits import Limits
from conversio_chromium.inputs import Source

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page

#: The capture formats by conversio's format name.
IMAGE_FORMATS = {"png": "png", "jpg": "jpeg", "webp": "webp"}
DEFAULT_QUALITY = 90
CAPTURE_ATTEMPTS = 3
CAPTURE_RETRY_MS = 100
#: Chromium's printing errors that are the ``pages`` option's fault.
_RANGE_ERRORS = ("Page range exceeds page count", "Page range syntax error")


def _transparent(session: CDPSession) -> None:
    """No default white behind the page: what it does not paint stays transparent."""
    session.send("Emulation.setDefaultBackgroundColorOverride", {"color": {"r": 0, "g": 0, "b": 0, "a": 0}})


def render_pdf(page: Page, source: Source, arguments: Mapping[str, Any], omit_background: bool) -> bytes:
    """The page printed with Playwright's ``page.pdf`` ``arguments`` (:func:`paper.pdf_arguments`)."""
    from playwright.sync_api import Error

    if omit_background:
        _transparent(page.context.new_cdp_session(page))
    try:
        return page.pdf(**arguments)
    except Error as exc:
        if any(known in exc.message for known in _RANGE_ERRORS):
            raise InvalidOption(
                f"pages={arguments['page_ranges']!r}: {source.name} has no such pages", option="pages"
            ) from None
        raise


def clip_rectangle(value: str) -> tuple[float, float, float, float]:
    """``clip`` (``x,y,width,height`` in CSS pixels) as numbers; INVALID_OPTION otherwise."""
    try:
        x, y, width, height = (float(part) for part in value.split(","))
    except ValueError:
        raise InvalidOption(f"clip={value!r} is not x,y,width,height (0,0,800,600)", option="clip") from None
    if min(x, y) < 0 or min(width, height) <= 0:
        raise InvalidOption(
            f"clip={value!r}: x and y must be 0 or more, width and height above 0", option="clip"
        )
    return x, y, width, height


def capture(
    page: Page,
    source: Source,
    target: str,
    options: Mapping[str, Any],
    limits: Limits,
    clip: tuple[float, float, float, float] | None,
) -> bytes:
    """A ``target`` (png, jpg, webp) screenshot of the page as ``options`` ask, of ``clip``
    (:func:`clip_rectangle`) if given."""
    session = page.context.new_cdp_session(page)
    scale = float(options.get("device_scale") or 1.0)
    if clip:
        x, y, width, height = clip
    elif options.get("full_page"):
        size = session.send("Page.getLayoutMetrics")["cssContentSize"]
        x, y, width, height = 0.0, 0.0, float(size["width"]), float(size["height"])
    else:
        x, y, width, height = 0.0, 0.0, float(options["width"]), float(options["height"])
    pixels = math.ceil(width * scale) * math.ceil(height * scale)
    if pixels > limits.max_pixels:
        raise FileTooLarge(
            f"a screenshot of {source.name} would have {pixels:,} pixels "
            f"({math.ceil(width * scale)} x {math.ceil(height * scale)}), more than the limit of "
            f"{limits.max_pixels:,}; take the viewport or a clip instead of the whole page",
            limit="max_pixels",
            maximum=limits.max_pixels,
        )
    if options.get("omit_background") and target != "jpg":
        _transparent(session)
    fmt = IMAGE_FORMATS[target]
    params: dict[str, Any] = {
        "format": fmt,
        "clip": {"x": x, "y": y, "width": width, "height": height, "scale": scale},
        "captureBeyondViewport": True,
        "fromSurface": True,
        "optimizeForSpeed": bool(options.get("optimize_for_speed")),
    }
    if fmt != "png":
        quality = options.get("quality")
        params["quality"] = DEFAULT_QUALITY if quality is None else int(quality)
    return base64.b64decode(_capture(page, session, params))


def _capture(page: Page, session: CDPSession, params: dict[str, Any]) -> str:
    """The base64 image; a capture asked for before the page's first frame was drawn fails
    ("Unable to capture screenshot", about once in 40 here): it is asked again a moment later."""
    from playwright.sync_api import Error

    for attempt in range(CAPTURE_ATTEMPTS):
        try:
            return str(session.send("Page.captureScreenshot", params)["data"])
        except Error as exc:
            if "Unable to capture" not in exc.message or attempt == CAPTURE_ATTEMPTS - 1:
                raise
            page.wait_for_timeout(CAPTURE_RETRY_MS)
    raise AssertionError("unreachable")
