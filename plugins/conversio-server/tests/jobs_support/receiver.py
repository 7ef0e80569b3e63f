"""A webhook receiver on loopback that records every request (headers and raw body)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs


@attrs.define
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    #: the sender's port on 127.0.0.1 (which process sent it)
    port: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records POSTs (webhooks) and PUTs (delivered outputs) and answers each with the status ``answer``
    gives it (200 by default); listens on ``port`` (0: a free one)."""

    def __init__(self, port: int = 0, answer: Callable[[Received], int] | None = None) -> None:
        self.requests: list[Received] = []
        self.answer = answer or (lambda _: 200)
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request: no delivery, as a server sees it
                    self.close_connection = True
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                got = Received(self.path, self.command, headers, body, self.client_address[1])
                with owner.lock:
                    owner.requests.append(got)
                self.send_response(owner.answer(got))
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _record
            do_PUT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def matching(self, predicate: Callable[[Received], bool]) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if predicate(r)]

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"nothing matching arrived within {timeout} s; got {len(self.requests)} requests"
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
