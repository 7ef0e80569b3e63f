"""The options of Chromium's converters, declared once (plain data: nothing is imported).

Lengths are strings with a unit (``210mm``, ``8.5in``, ``1cm``, ``96px``, ``12pt``); a bare
number is in inches, as Gotenberg reads it. Times are seconds.
"""

from __future__ import annotations

from conversio.options import Option, OptionsSchema

PAPER_SIZES = ("a0", "a1", "a2", "a3", "a4", "a5", "a6", "letter", "legal", "tabloid", "ledger")

# -- loading the page (every converter) ----------------------------------------------------------
MEDIA = Option("media", "str", choices=("print", "screen"), help="the CSS media type to lay the page out for")
WAIT_DELAY = Option("wait_delay", "float", default=0.0, min=0.0, max=60.0, help="seconds to wait after load")
WAIT_FOR_EXPRESSION = Option(
    "wait_for_expression", "str", help="a JavaScript expression to wait for until it is true (window.ready)"
)
WAIT_FOR_SELECTOR = Option("wait_for_selector", "str", help="a CSS selector to wait for until it is visible")
JAVASCRIPT = Option("javascript", "bool", default=True, help="run the page's scripts")
HEADERS = Option(
    "headers", "list", help="extra HTTP headers for a web address and its resources, as 'Name: value'"
)
COOKIES = Option("cookies", "list", help="cookies for a web address, as 'name=value' (its host only)")
USER_AGENT = Option("user_agent", "str", help="the User-Agent the page is loaded with")
FAIL_ON_STATUS = Option(
    "fail_on_status",
    "list",
    default=["400-599"],
    help="HTTP statuses of the page itself that refuse the conversion, as codes or ranges (400-599)",
)
FAIL_ON_RESOURCE_STATUS = Option(
    "fail_on_resource_status",
    "list",
    default=[],
    help="HTTP statuses of the page's resources (images, styles, scripts) that refuse the conversion",
)
FAIL_ON_RESOURCE_LOADING_FAILED = Option(
    "fail_on_resource_loading_failed",
    "bool",
    default=False,
    help="refuse the conversion when a resource cannot be loaded (or is not allowed)",
)
FAIL_ON_CONSOLE_EXCEPTIONS = Option(
    "fail_on_console_exceptions", "bool", default=False, help="refuse the conversion when a script throws"
)

PAGE_OPTIONS = (
    MEDIA,
    WAIT_DELAY,
    WAIT_FOR_EXPRESSION,
    WAIT_FOR_SELECTOR,
    JAVASCRIPT,
    HEADERS,
    COOKIES,
    USER_AGENT,
    FAIL_ON_STATUS,
    FAIL_ON_RESOURCE_STATUS,
    FAIL_ON_RESOURCE_LOADING_FAILED,
    FAIL_ON_CONSOLE_EXCEPTIONS,
)

# -- printing to PDF -------------------------------------------------------------------------------
PDF_OPTIONS = OptionsSchema.of(
    *PAGE_OPTIONS,
    Option("paper", "str", default="a4", choices=PAPER_SIZES, help="the paper size"),
    Option("paper_width", "str", help="the paper width with its unit (8.5in, 210mm); overrides paper"),
    Option("paper_height", "str", help="the paper height with its unit (11in, 297mm); overrides paper"),
    Option("margin_top", "str", default="1cm", help="the top margin with its unit"),
    Option("margin_bottom", "str", default="1cm", help="the bottom margin with its unit"),
    Option("margin_left", "str", default="1cm", help="the left margin with its unit"),
    Option("margin_right", "str", default="1cm", help="the right margin with its unit"),
    Option("landscape", "bool", default=False, help="print in landscape"),
    Option("scale", "float", default=1.0, min=0.1, max=2.0, help="the scale of the page's rendering"),
    Option("pages", "str", help="pages to print, as in a print dialog: 1-3,5,8-"),
    Option("print_background", "bool", default=False, help="print background colours and images"),
    Option("prefer_css_page_size", "bool", default=False, help="a CSS @page size wins over paper"),
    Option("omit_background", "bool", default=False, help="a transparent background instead of white"),
    Option(
        "header_html",
        "str",
        help="HTML of each page's header; elements of class pageNumber, totalPages, title, date, url "
        "are filled in",
    ),
    Option("footer_html", "str", help="HTML of each page's footer, as header_html"),
    Option("tagged", "bool", default=True, help="a tagged (accessible) PDF with its structure"),
    Option("outline", "bool", default=False, help="add bookmarks from the page's headings"),
)

# -- screenshots -----------------------------------------------------------------------------------
SCREENSHOT_OPTIONS = OptionsSchema.of(
    *PAGE_OPTIONS,
    Option("width", "int", default=1280, min=16, max=10_000, help="the viewport width in CSS pixels"),
    Option("height", "int", default=800, min=16, max=10_000, help="the viewport height in CSS pixels"),
    Option("full_page", "bool", default=True, help="the whole page, not only the viewport"),
    Option("clip", "str", help="only this rectangle, as x,y,width,height in CSS pixels"),
    Option("device_scale", "float", default=1.0, min=0.1, max=4.0, help="device pixels per CSS pixel"),
    Option("quality", "int", min=0, max=100, help="JPEG and WebP quality (default 90)"),
    Option("omit_background", "bool", default=False, help="a transparent background (PNG and WebP)"),
    Option("optimize_for_speed", "bool", default=False, help="faster encoding, bigger files"),
)
