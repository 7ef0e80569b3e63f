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

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records POSTs (webhooks) and PUTs (delivered outputs); answers 200."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with owner.lock:
                    owner.requests.append(
                        Received(
                            self.path, self.command, {k.lower(): v for k, v in self.headers.items()}, body
                        )
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _record
            do_PUT = _record

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
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
