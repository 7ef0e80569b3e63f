"""An S3-compatible server on loopback for tests and benchmarks: moto's standalone server.

It runs in its own process (as a real object server would), on a free port of 127.0.0.1, and
speaks the S3 HTTP protocol. moto comes with this distribution's ``test`` extra.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

#: Credentials the local server accepts (any are accepted; these are not secrets).
TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "conversio-test",
    "AWS_SECRET_ACCESS_KEY": "conversio-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    # never ask an instance metadata service for credentials: there is none on loopback
    "AWS_EC2_METADATA_DISABLED": "true",
}
#: Variables that would point the tests' clients elsewhere than the local server.
_ELSEWHERE = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_PROFILE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def local_s3_server(start_timeout: float = 60.0) -> Iterator[str]:
    """Start the server, wait (at most ``start_timeout`` seconds) until it answers, yield its
    endpoint URL, and stop it afterwards."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **TEST_ENVIRONMENT},
    )
    try:
        deadline = time.monotonic() + start_timeout
        while not _answers(endpoint):
            if process.poll() is not None:
                raise RuntimeError(f"the S3 test server exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the S3 test server did not start within {start_timeout:.0f} s")
            time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def local_s3_buckets(*buckets: str) -> Iterator[str]:
    """The local server with ``buckets`` made, and for the block the test credentials in
    ``os.environ`` (processes started meanwhile inherit them); yield its endpoint URL."""
    import boto3

    saved = {name: os.environ.get(name) for name in (*TEST_ENVIRONMENT, *_ELSEWHERE)}
    os.environ.update(TEST_ENVIRONMENT)
    for name in _ELSEWHERE:
        os.environ.pop(name, None)
    try:
        with local_s3_server() as endpoint:
            client = boto3.client("s3", endpoint_url=endpoint)
            for bucket in buckets:
                client.create_bucket(Bucket=bucket)
            yield endpoint
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _answers(endpoint: str) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(f"{endpoint}/moto-api/", timeout=1):
            return True
    except OSError:
        return False
