"""A web host on 127.0.0.1 for the Gotenberg client tests: it serves pages to the URL routes and
records what webhooks deliver to it."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import attrs

ECHO_PATH = "/echo"
#: Files under this path come as attachments named after themselves (what ``downloadFrom`` needs).
DOWNLOADS = "/downloads/"


@attrs.frozen
class Delivery:
    """One request a webhook made: its method, path, headers (names lower-cased) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class WebHost:
    """Serves ``pages`` (path → status, content type, body) to GET (as attachments under
    :data:`DOWNLOADS`), answers ``/echo`` with a page showing the request's User-Agent,
    X-Conversio-Test header and cookies, and records every POST, PUT and PATCH as a :class:`Delivery`."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes]] = {}
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        host = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self) -> None:
                if self.path == ECHO_PATH:
                    seen = [
                        self.headers.get(name, "none")
                        for name in ("User-Agent", "X-Conversio-Test", "Cookie")
                    ]
                    body = "".join(f"<p>{value}</p>" for value in seen).encode()
                    self._answer(
                        200,
                        "text/html; charset=utf-8",
                        b"<!DOCTYPE html><html><body>" + body + b"</body></html>",
                    )
                    return
                status, kind, body = host.pages.get(
                    self.path, (404, "text/html", b"<html><body>Not here</body></html>")
                )
                self._answer(status, kind, body)

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with host._arrived:
                    host.deliveries.append(Delivery(self.command, self.path, headers, body))
                    host._arrived.notify_all()
                self._answer(200, "text/plain", b"ok")

            do_POST = do_PUT = do_PATCH = _record

            def _answer(self, status: int, kind: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                if self.path.startswith(DOWNLOADS):
                    name = self.path.rsplit("/", 1)[-1]
                    self.send_header("Content-Disposition", f'attachment; filename="{name}"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="web-host", daemon=True)
        self._thread.start()

    def delivery(self, path: str, seconds: float = 60.0) -> Delivery:
        """The first delivery to ``path``, waiting for it at most ``seconds``."""
        deadline = time.monotonic() + seconds
        with self._arrived:
            while True:
                found = [d for d in self.deliveries if d.path == path]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing was delivered to {path} within {seconds} s")
                self._arrived.wait(left)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
