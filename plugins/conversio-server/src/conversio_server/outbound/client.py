"""The outbound client itself: :class:`OutboundClient` sends requests through the guarded
transport, follows redirects by hand (every hop checked again, credentials not carried to
another origin), keeps to the policy's time limits, and either streams a download into a file
under the size cap (:meth:`~OutboundClient.fetch_to_file`) or returns a short answer
(:meth:`~OutboundClient.request`).
"""

from __future__ import annotations

import ssl
import tempfile
import time
from collections.abc import Iterable, Mapping
from email.message import Message
from pathlib import Path

import attrs
import httpx

from conversio.converters import safe_filename
from conversio.errors import InvalidRequest
from conversio.outbound import Resolver, default_resolver
from conversio_server.errors import ApiError
from conversio_server.outbound.errors import as_shown, failed, network_errors, refused, restated, too_large
from conversio_server.outbound.policy import OutboundPolicy, check_url
from conversio_server.outbound.transport import GuardedTransport

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Not sent on to another origin when a redirect leads there.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
USER_AGENT = "conversio-server"


@attrs.frozen
class Fetched:
    """A downloaded file: where it is, its (safe) name, the announced media type and its size."""

    path: Path
    name: str
    content_type: str | None
    size: int


@attrs.frozen
class Reply:
    """The answer to :meth:`OutboundClient.request` (the body cut at the size asked for)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes


class OutboundClient:
    """The server's HTTP client. Thread-safe; close it (or use it as a context manager) when done.

    ``resolver`` is for tests; ``ssl_context`` defaults to the system's verified one.
    """

    def __init__(
        self,
        policy: OutboundPolicy | None = None,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy or OutboundPolicy()
        transport = GuardedTransport(
            self.policy, resolver or default_resolver, ssl_context or httpx.create_ssl_context()
        )
        self._http = httpx.Client(
            transport=transport,
            trust_env=False,  # no proxies from the environment: the guard must see the real target
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OutboundClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _timeout(self, deadline: float, shown: str) -> httpx.Timeout:
        left = deadline - time.monotonic()
        if left <= 0:
            raise failed(shown, "URL_TIMEOUT", f"no complete answer within {self.policy.total_timeout:g} s")
        p = self.policy
        return httpx.Timeout(
            connect=min(p.connect_timeout, left),
            read=min(p.read_timeout, left),
            write=min(p.read_timeout, left),
            pool=min(p.connect_timeout, left),
        )

    def _open(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        headers: Mapping[str, str] | None,
        content: bytes | Iterable[bytes] | None,
        deadline: float,
        follow: bool,
    ) -> tuple[httpx.Response, httpx.URL]:
        """Check ``url``, send the request and follow redirects by hand, checking every hop; the
        response is open."""
        hops = 0
        while True:
            url = check_url(url, self.policy)
            shown = as_shown(url)
            request = self._http.build_request(
                method, url, headers=headers, content=content, timeout=self._timeout(deadline, shown)
            )
            with network_errors(shown, "the server did not answer in time"):
                try:
                    response = self._http.send(request, stream=True)
                except InvalidRequest as exc:  # the guard's refusal, about host and port only
                    raise restated(exc, shown) from None
            location = response.headers.get("location")
            if not follow or response.status_code not in REDIRECT_STATUSES or location is None:
                return response, url
            response.close()
            hops += 1
            if hops > self.policy.max_redirects:
                raise failed(shown, "TOO_MANY_REDIRECTS", f"more than {self.policy.max_redirects} redirects")
            previous = url
            try:
                url = url.join(location)
            except (httpx.InvalidURL, ValueError):
                raise refused(shown, f"the redirect to {location[:200]!r} is not a valid URL") from None
            if headers and _origin(url) != _origin(previous):
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                method, content = "GET", None
            elif content is not None and not isinstance(content, bytes):
                raise failed(shown, "URL_STATUS", "a redirect asks to send a streamed body again")

    def fetch_to_file(self, url: str, dest_dir: Path, *, max_bytes: int | None = None) -> Fetched:
        """Download ``url`` (GET, redirects followed and checked) into a new file under ``dest_dir``.

        The size cap (``max_bytes`` or the policy's, whichever is smaller) is enforced while
        streaming: FILE_TOO_LARGE as soon as it is crossed, and nothing is left on disk.
        """
        limit = self.policy.max_bytes if max_bytes is None else min(max_bytes, self.policy.max_bytes)
        deadline = time.monotonic() + self.policy.total_timeout
        response, final = self._open("GET", url, headers=None, content=None, deadline=deadline, follow=True)
        try:
            return self._save(response, final, limit, deadline, dest_dir)
        finally:
            response.close()

    def _save(
        self, response: httpx.Response, final: httpx.URL, limit: int, deadline: float, dest_dir: Path
    ) -> Fetched:
        shown = as_shown(final)
        if not 200 <= response.status_code < 300:
            raise ApiError(
                "INVALID_REQUEST",
                f"the URL {shown} answered HTTP {response.status_code}",
                details={"reason": "URL_STATUS", "status": response.status_code, "url": shown},
            )
        declared = response.headers.get("content-length", "")
        encoded = response.headers.get("content-encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and int(declared) > limit:
            raise too_large(shown, limit)
        name = _name_for(response, final)
        dest_dir.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="fetch-", dir=dest_dir))
        path = folder / name
        size = 0
        try:
            with network_errors(shown, "the server stopped sending"), path.open("wb") as out:
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise too_large(shown, limit)
                    if time.monotonic() > deadline:
                        why = f"the download took longer than {self.policy.total_timeout:g} s"
                        raise failed(shown, "URL_TIMEOUT", why)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            folder.rmdir()
            raise
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return Fetched(path=path, name=name, content_type=media_type or None, size=size)

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = False,
        max_response_bytes: int = 1024 * 1024,
    ) -> Reply:
        """Send one request (a webhook POST, a PUT of a result) under the same guard.

        Any status is returned (the caller decides); the body is read up to
        ``max_response_bytes`` and the rest discarded.
        """
        deadline = time.monotonic() + self.policy.total_timeout
        response, final = self._open(
            method.upper(), url, headers=headers, content=content, deadline=deadline, follow=follow_redirects
        )
        body = bytearray()
        try:
            with network_errors(as_shown(final), "the server stopped sending"):
                for chunk in response.iter_bytes():
                    body += chunk[: max_response_bytes - len(body)]
                    if len(body) >= max_response_bytes or time.monotonic() > deadline:
                        break
        finally:
            response.close()
        return Reply(status_code=response.status_code, headers=dict(response.headers), content=bytes(body))


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port: where credentials may be sent again after a redirect."""
    return url.scheme, url.host, url.port


def _name_for(response: httpx.Response, url: httpx.URL) -> str:
    """The file name the server gave (Content-Disposition), else the last part of the URL path."""
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        try:
            given = message.get_filename()
        except (ValueError, LookupError):
            given = None
        if given:
            return safe_filename(str(given), default="download")
    return safe_filename(url.path.rsplit("/", 1)[-1], default="download")
