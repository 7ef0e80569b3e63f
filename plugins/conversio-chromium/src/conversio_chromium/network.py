"""Everything a page may reach, decided by conversio rather than by the page.

(Interface first; the guard is being written.) The browser is launched with
:func:`launch_arguments` and :func:`launch_proxy`; each conversion's fresh context is given to
:func:`attach`, which serves a :class:`~conversio_chromium.inputs.Site` from memory and sends
every other request through conversio's outbound policy; the returned :class:`Watch` records
what the page asked for and what was refused or failed, for the error messages and the
``fail_on_*`` options.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs

from conversio_chromium.inputs import SITE_ORIGIN, Source

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Route

#: A port nothing listens on: anything that escapes the guard goes nowhere.
_DEAD_PROXY = "http://127.0.0.1:9"


@attrs.define
class Watch:
    """What one page's requests came to. ``refused``: (url, why) never sent, by policy;
    ``failed``: (url, why) sent and failed; ``statuses``: url -> HTTP status of each answer."""

    main_url: str
    refused: list[tuple[str, str]] = attrs.Factory(list)
    failed: list[tuple[str, str]] = attrs.Factory(list)
    statuses: dict[str, int] = attrs.Factory(dict)


def launch_arguments() -> list[str]:
    """Chromium's command-line switches that close what the guard does not see."""
    return ["--proxy-bypass-list=<-loopback>", "--disable-background-networking"]


def launch_proxy() -> dict[str, str]:
    """Playwright's ``proxy`` launch option: every connection goes through the guard."""
    return {"server": _DEAD_PROXY}


def attach(
    context: BrowserContext, source: Source, *, headers: Sequence[str] = (), cookies: Sequence[str] = ()
) -> Watch:
    """Route every request of ``context``: the site's files from memory, the rest refused (for now)."""
    watch = Watch(source.address)
    files = source.site.files if source.site is not None else {}

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith(SITE_ORIGIN + "/"):
            path = url[len(SITE_ORIGIN) + 1 :].split("?", 1)[0].split("#", 1)[0]
            if path in files:
                route.fulfill(status=200, body=files[path])
                watch.statuses[url] = 200
                return
            route.fulfill(status=404, body=b"")
            watch.statuses[url] = 404
            return
        watch.refused.append((url, "not allowed yet"))
        route.abort("blockedbyclient")

    context.route("**/*", route)
    return watch
