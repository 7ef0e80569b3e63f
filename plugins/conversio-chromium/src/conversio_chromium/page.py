"""Loading one page in a fresh browser context, waiting until it is ready, and judging it.

A page loads (its ``load`` event, then until none of its requests is still under way: a page
served from memory is ready at once, where a fixed quiet period would cost every conversion
that period), then waits as the
options ask (a delay, a JavaScript expression, a selector), all within the conversion's time;
then what it answered is judged (``fail_on_*``). Errors name the user's file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from conversio.errors import ConversionFailed, InvalidOption, InvalidRequest, Timeout, listed
from conversio_chromium import network
from conversio_chromium.inputs import Source
from conversio_chromium.watchdog import Watchdog

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request, Response

#: The driver call Playwright names before the browser's own message (engine internals).
_DRIVER_CALL = re.compile(r"^\w+\.\w+: ")
#: Below this, a budget is spent: the next wait would be cut short anyway.
MIN_WAIT_MS = 50.0
#: How often requests still under way are counted again after the ``load`` event.
SETTLE_POLL_MS = 20.0


class _Requests:
    """How many of a context's requests are under way."""

    def __init__(self, context: BrowserContext) -> None:
        self.pending = 0
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.pending += 1

    def _ended(self, request: Request) -> None:
        self.pending -= 1


@contextmanager
def loaded_page(
    browser: Browser,
    source: Source,
    options: Mapping[str, Any],
    dog: Watchdog,
    *,
    viewport: tuple[int, int] | None = None,
    device_scale: float = 1.0,
) -> Iterator[Page]:
    """The page of ``source``, loaded, waited for and judged, in a context of its own (closed after
    the block: nothing it stored survives it)."""
    context = browser.new_context(
        java_script_enabled=bool(options.get("javascript", True)),
        user_agent=options.get("user_agent") or None,
        viewport={"width": viewport[0], "height": viewport[1]} if viewport else None,
        device_scale_factor=device_scale,
        service_workers="block",
        accept_downloads=False,
        bypass_csp=False,
    )
    try:
        watch = network.attach(
            context, source, headers=options.get("headers") or (), cookies=options.get("cookies") or ()
        )
        requests = _Requests(context)
        page = context.new_page()
        thrown: list[str] = []
        page.on("pageerror", lambda error: thrown.append(error.message))
        if options.get("media"):
            page.emulate_media(media=options["media"])
        response = _navigate(page, source, watch, dog)
        _settle(page, source, requests, dog)
        _wait(page, source, options, dog)
        _judge(source, options, response, watch, thrown)
        yield page
    finally:
        try:
            context.close()
        except Exception:  # a killed browser: the context is gone with it
            pass


def _budget_ms(source: Source, dog: Watchdog, what: str) -> float:
    left = dog.left() * 1000
    if left < MIN_WAIT_MS:
        raise too_slow(source, dog, what)
    return left


def too_slow(source: Source, dog: Watchdog, what: str = "load and render") -> Timeout:
    return Timeout(
        f"{source.name} took longer than {dog.seconds:g} s to {what} and was stopped", timeout=dog.seconds
    )


def _navigate(page: Page, source: Source, watch: network.Watch, dog: Watchdog) -> Response | None:
    from playwright.sync_api import Error, TimeoutError

    try:
        response = page.goto(source.address, wait_until="load", timeout=_budget_ms(source, dog, "load"))
    except TimeoutError:
        raise too_slow(source, dog, "load") from None
    except Error:
        if dog.fired:
            raise
        if watch.refused:  # a navigation that failed never made a document, nor its requests
            url, why = watch.refused[0]
            raise InvalidRequest(
                f"{source.name}: {url} may not be loaded: {why}", reason="URL_NOT_ALLOWED", why=why, url=url
            ) from None
        why = watch.failed[0][1] if watch.failed else "the address cannot be reached"
        raise InvalidRequest(
            f"{source.name}: {source.address} could not be loaded: {why}",
            reason="URL_UNREACHABLE",
            why=why,
            url=source.address,
        ) from None
    return response


def _settle(page: Page, source: Source, requests: _Requests, dog: Watchdog) -> None:
    """Until no request of the page is under way (a page that never settles takes too long)."""
    while requests.pending > 0:
        _budget_ms(source, dog, "finish loading")
        page.wait_for_timeout(SETTLE_POLL_MS)


def _wait(page: Page, source: Source, options: Mapping[str, Any], dog: Watchdog) -> None:
    delay = float(options.get("wait_delay") or 0.0)
    if delay >= dog.left():
        raise Timeout(
            f"{source.name}: wait_delay={delay:g} s does not fit in the {dog.seconds:g} s "
            "a conversion may take",
            timeout=dog.seconds,
        )
    if delay:
        page.wait_for_timeout(delay * 1000)
    if expression := options.get("wait_for_expression"):
        _wait_for(
            source,
            dog,
            "wait_for_expression",
            f"make {expression!r} true",
            lambda ms: page.wait_for_function(expression, timeout=ms),
        )
    if selector := options.get("wait_for_selector"):
        _wait_for(
            source,
            dog,
            "wait_for_selector",
            f"show {selector!r}",
            lambda ms: page.wait_for_selector(selector, state="visible", timeout=ms),
        )


def _wait_for(source: Source, dog: Watchdog, option: str, what: str, wait: Callable[[float], object]) -> None:
    """``wait(milliseconds left)``: its timeout is the conversion's, its error the option's."""
    from playwright.sync_api import Error, TimeoutError

    try:
        wait(_budget_ms(source, dog, what))
    except TimeoutError:
        raise too_slow(source, dog, what) from None
    except Error as exc:
        if dog.fired:
            raise
        first = exc.message.splitlines()[0] if exc.message else "it is not valid"
        first = _DRIVER_CALL.sub("", first)  # "Page.wait_for_function: SyntaxError…": the user's part
        raise InvalidOption(f"{option} cannot be used: {first}", option=option) from None


def check_options(options: Mapping[str, Any]) -> None:
    """INVALID_OPTION for page options that cannot work, before any page loads."""
    statuses("fail_on_status", options.get("fail_on_status") or ())
    statuses("fail_on_resource_status", options.get("fail_on_resource_status") or ())
    if options.get("wait_for_expression") and not options.get("javascript", True):
        raise InvalidOption("wait_for_expression needs javascript=true", option="wait_for_expression")


def statuses(option: str, values: Sequence[str]) -> list[range]:
    """``fail_on_status`` entries (``404``, ``400-499``) as ranges; INVALID_OPTION for others."""
    ranges = []
    for value in values:
        low, _, high = str(value).strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise InvalidOption(
                f"{option}: {value!r} is not an HTTP status or a range of them (404, 400-599)", option=option
            ) from None
        if not 100 <= first <= last <= 599:
            raise InvalidOption(f"{option}: {value!r} is not within 100-599", option=option)
        ranges.append(range(first, last + 1))
    return ranges


def _judge(
    source: Source,
    options: Mapping[str, Any],
    response: Response | None,
    watch: network.Watch,
    thrown: list[str],
) -> None:
    """Refuse the page as the ``fail_on_*`` options ask: a judgement of the page itself, so no
    other route is tried (``final``)."""
    main = {source.address}
    if response is not None:
        main.add(response.url)
        if any(response.status in r for r in statuses("fail_on_status", options.get("fail_on_status") or ())):
            raise ConversionFailed(
                f"{source.name}: {source.url or 'the page'} answered HTTP {response.status}",
                status=response.status,
                final=True,
            )
    failing = statuses("fail_on_resource_status", options.get("fail_on_resource_status") or ())
    bad = [
        f"{url} ({status})"
        for url, status in watch.statuses.items()
        if url not in main and any(status in r for r in failing)
    ]
    if bad:
        raise ConversionFailed(
            f"{source.name}: resources answered an error status: {listed(bad)}", urls=bad, final=True
        )
    if options.get("fail_on_resource_loading_failed") and (watch.failed or watch.refused):
        lost = [f"{url} ({why})" for url, why in [*watch.refused, *watch.failed]]
        raise ConversionFailed(
            f"{source.name}: resources could not be loaded: {listed(lost)}", urls=lost, final=True
        )
    if options.get("fail_on_console_exceptions") and thrown:
        raise ConversionFailed(
            f"{source.name}: a script of the page failed: {thrown[0]}", exceptions=thrown, final=True
        )
