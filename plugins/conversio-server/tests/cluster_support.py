"""Many hosts on one machine, for the multi-node test: ``conversio serve`` and ``conversio worker``
processes, each with a data folder of its own and sharing nothing but a database and a store, their
output kept in a log file each; a client that goes to the next API node when one does not answer, as
behind a load balancer; a gate that holds webhook answers; and the ports a process has open.

Every wait is bounded, and :meth:`Cluster.close` kills every process it started, after a failure too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
from conversio_s3.testing import free_port
from jobs_support.receiver import Received

CONVERSIO = str(Path(sys.executable).with_name("conversio"))
#: Seconds a process has to start answering, and to stop after SIGTERM (then it is killed).
START_TIMEOUT, STOP_TIMEOUT = 90.0, 20.0


@attrs.define
class Node:
    """One process of the cluster: an API node (with ``url``) or a worker; it may be started again."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    url: str | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"--- {self.name} started at {time.strftime('%H:%M:%S')}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a group of its own: a kill takes its conversion processes too
            )

    def wait_ready(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        """Until ``ready()`` says so; an error if the process exits first or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive():
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready within {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """``kill -9`` the process and its group (its conversion processes), as a host that dies."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(STOP_TIMEOUT)

    def terminate(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)

    def reap(self, deadline: float) -> int | None:
        """Wait for the process until ``deadline``, then kill it; its exit status."""
        if self.process is None:
            return None
        try:
            self.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.kill()
        with_group_gone(self.pid)
        return self.process.returncode

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def with_group_gone(pgid: int) -> None:
    """Kill what is left of a process group (conversion processes of a node that was told to stop)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Cluster:
    """API nodes and workers under ``folder`` (a data folder and a log each), all given the database
    and store URLs as the deployment guide gives them, and ``env`` besides. An API node is ready when
    its ``/readyz`` answers 200, a worker when ``registered(worker)`` says so."""

    def __init__(
        self,
        folder: Path,
        database_url: str,
        store_url: str,
        env: Mapping[str, str],
        registered: Callable[[Node], bool],
    ) -> None:
        self.folder = folder
        self.registered = registered
        self.shared = ["--database", database_url, "--store", store_url]
        self.env = {**os.environ, **env}
        self.nodes: list[Node] = []
        (folder / "logs").mkdir(parents=True, exist_ok=True)

    def _node(self, name: str, command: list[str], url: str | None = None) -> Node:
        data = ["--data-dir", str(self.folder / name)]
        log = self.folder / "logs" / f"{name}.log"
        node = Node(name, [CONVERSIO, *command, *data, *self.shared], self.env, log, url)
        self.nodes.append(node)
        return node

    def api(self, name: str) -> Node:
        """``conversio serve`` on a free port of 127.0.0.1, an API-only node (no job workers)."""
        port = free_port()
        command = ["serve", "--port", str(port), "--job-workers", "0", "--log-level", "warning"]
        return self._node(name, command, f"http://127.0.0.1:{port}")

    def worker(self, name: str, *flags: str) -> Node:
        """``conversio worker`` on the host ``name`` (as ``/metrics`` and the workers table name it)."""
        return self._node(name, ["worker", "--hostname", name, *flags])

    @property
    def apis(self) -> list[Node]:
        return [node for node in self.nodes if node.url is not None]

    @property
    def workers(self) -> list[Node]:
        return [node for node in self.nodes if node.url is None]

    def start(self, *nodes: Node) -> None:
        """Start ``nodes`` together (as hosts booting at once), then wait until each is ready."""
        for node in nodes:
            node.start()
        for node in nodes:
            self._wait_ready(node)

    def restart(self, node: Node) -> None:
        node.start()
        self._wait_ready(node)

    def _wait_ready(self, node: Node) -> None:
        node.wait_ready(lambda: answers(f"{node.url}/readyz") if node.url else self.registered(node))

    def close(self) -> dict[str, int | None]:
        """Stop every node as a service manager does (SIGTERM, then SIGKILL after ``STOP_TIMEOUT``);
        their exit statuses."""
        for node in self.nodes:
            node.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        return {node.name: node.reap(deadline) for node in self.nodes}

    def logs(self, lines: int = 40) -> str:
        return "\n\n".join(f"== {node.name}\n{node.tail(lines)}" for node in self.nodes)


class Entrances:
    """The API nodes as a client behind a load balancer sees them: a request goes to the preferred
    node, or to the next one while a node does not answer (refused, or cut off mid-request: a node
    that was killed). Safe only for requests that may be sent twice (idempotency keys, reads)."""

    def __init__(self, nodes: list[Node], api_key: str, timeout: float = 60.0) -> None:
        self.nodes = nodes
        self.http = httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
        self.timeout = timeout
        self.failovers = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, prefer: int = 0, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.timeout
        turn = prefer
        while True:
            node = self.nodes[turn % len(self.nodes)]
            assert node.url is not None
            try:
                return self.http.request(method, node.url + path, **kwargs)
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                with self._lock:
                    self.failovers += 1
                turn += 1
                time.sleep(0.05)


class Gate:
    """A webhook receiver's ``answer``: 200 at once while open; while closed, each request waits (its
    sender's delivery stays in flight) until the gate opens again, for at most ``limit`` seconds."""

    def __init__(self, limit: float = 20.0) -> None:
        self._open = threading.Event()
        self._open.set()
        self.limit = limit
        self._held: list[Received] = []
        self._lock = threading.Lock()

    def __call__(self, got: Received) -> int:
        if not self._open.is_set():
            with self._lock:
                self._held.append(got)
            self._open.wait(self.limit)
        return 200

    @property
    def held(self) -> list[Received]:
        """The requests held since the gate closed."""
        with self._lock:
            return list(self._held)

    def close(self) -> None:
        with self._lock:
            self._held = []
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def wait_held(self, enough: Callable[[list[Received]], bool], timeout: float = 20.0) -> None:
        """Until ``enough`` says the requests held are enough."""
        deadline = time.monotonic() + timeout
        while not enough(self.held):
            if time.monotonic() > deadline:
                raise AssertionError(f"not enough webhooks held within {timeout} s: {len(self.held)}")
            time.sleep(0.02)


def create_key(database_url: str, name: str) -> dict[str, Any]:
    """``conversio keys create`` (unlimited tier) on the shared database: its ``key`` and
    ``webhookSecret`` among the rest."""
    done = subprocess.run(
        [
            CONVERSIO,
            "keys",
            "create",
            "--name",
            name,
            "--tier",
            "enterprise",
            "--database",
            database_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def local_ports(pid: int) -> set[int]:
    """The local ports of the TCP sockets (IPv4) the process ``pid`` has open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
