"""The outbound client's failures in the user's terms, and how a URL is shown in them.

Every refusal and failure is an :class:`~conversio_server.errors.ApiError` naming the URL as
the user gave it (a password in it masked): ``INVALID_REQUEST`` with ``details`` ``reason``,
``why`` and ``url`` (worded by :mod:`conversio.outbound`), or ``FILE_TOO_LARGE``. Network
exceptions are translated here; their own text goes to the log only.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

from conversio import outbound
from conversio.errors import InvalidRequest
from conversio_server.errors import ApiError

log = logging.getLogger("conversio_server.outbound")

TIMEOUTS = (httpx.TimeoutException, httpcore.TimeoutException)
NETWORK = (httpx.TransportError, httpcore.NetworkError, httpcore.ProtocolError, httpx.DecodingError, OSError)


def as_shown(url: httpx.URL) -> str:
    """The URL as the user gave it (IPv6 hosts in brackets), but a password in it masked."""
    return str(url.copy_with(username=url.username, password="***")) if url.password else str(url)


def _answered(exc: InvalidRequest) -> ApiError:
    return ApiError(exc.code, exc.message, details=exc.details)


def refused(url: str, why: str) -> ApiError:
    """``url`` may not be fetched at all (``URL_NOT_ALLOWED``)."""
    return _answered(outbound.refused(url, why))


def failed(url: str, reason: str, why: str) -> ApiError:
    """Fetching ``url`` was tried and failed for ``reason`` (``URL_UNREACHABLE``, ``URL_TIMEOUT``, …)."""
    return _answered(outbound.failed(url, reason, why))


def restated(exc: InvalidRequest, url: str) -> ApiError:
    """A refusal of the connection guard (:mod:`conversio.outbound`'s), raised where only the host
    and port were known, about the whole URL instead."""
    reason, why = str(exc.details["reason"]), str(exc.details["why"])
    return refused(url, why) if reason == "URL_NOT_ALLOWED" else failed(url, reason, why)


def unreachable(url: str, exc: BaseException) -> ApiError:
    """A network failure in the user's terms (the exception's own text goes to the log)."""
    log.info("fetching %s failed: %s: %s", url, type(exc).__name__, exc)
    text = str(exc).lower()
    if "certificate" in text or isinstance(exc, ssl.SSLError):
        why = "its TLS certificate could not be verified"
    elif "refused" in text:
        why = "the connection was refused"
    elif "name or service" in text or "resolution" in text:
        why = "its host name could not be resolved"
    else:
        why = "the connection failed"
    return failed(url, "URL_UNREACHABLE", why)


@contextmanager
def network_errors(url: str, timed_out: str) -> Iterator[None]:
    """Timeouts (``URL_TIMEOUT``, ``timed_out`` saying which) and network failures
    (``URL_UNREACHABLE``) raised in the block, as failures to fetch ``url``."""
    try:
        yield
    except TIMEOUTS:
        raise failed(url, "URL_TIMEOUT", timed_out) from None
    except NETWORK as exc:
        raise unreachable(url, exc) from None


def too_large(url: str, limit: int) -> ApiError:
    """The file at ``url`` is over the size cap (``FILE_TOO_LARGE``)."""
    return ApiError(
        "FILE_TOO_LARGE",
        f"the file at {url} is larger than the limit of {limit:,} bytes",
        details={"limit": limit, "url": url},
    )
