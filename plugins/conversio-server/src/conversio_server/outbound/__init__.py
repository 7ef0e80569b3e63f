"""The one outbound HTTP client: input URLs, webhooks and uploads of results.

Every connection it opens resolves the host itself, is refused when *any* resolved address is
not a public one (loopback, private, link-local, metadata, …, IPv4 embedded in IPv6 included)
unless the policy's allow list lets it through (:mod:`conversio.outbound` says which), and then
connects to the very address it checked; redirects are followed by hand and each hop is checked
again.

Failures are :class:`~conversio_server.errors.ApiError`: ``INVALID_REQUEST`` with
``details["reason"]`` (``URL_NOT_ALLOWED``, ``URL_UNREACHABLE``, ``URL_TIMEOUT``,
``URL_STATUS``, ``TOO_MANY_REDIRECTS``), or ``FILE_TOO_LARGE``.

Modules, each importing only those above it:

- ``errors``: the refusals and failures in the user's terms, and how a URL is shown in them;
- ``policy``: :class:`OutboundPolicy` and :func:`check_url` (what a URL must be before it is resolved);
- ``transport``: the httpx transport that connects only to checked addresses;
- ``client``: :class:`OutboundClient` (redirects, time limits, downloads to files, requests).
"""

from conversio_server.outbound.client import Fetched, OutboundClient, Reply
from conversio_server.outbound.policy import OutboundPolicy, check_url

__all__ = [
    "Fetched",
    "OutboundClient",
    "OutboundPolicy",
    "Reply",
    "check_url",
]
