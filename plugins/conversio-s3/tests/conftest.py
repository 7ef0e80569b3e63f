"""Fixtures of the conversio-s3 tests: one local S3 server for the session, a bucket in it, and
stores under a prefix of their own per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import boto3
import pytest
from conversio_s3.settings import S3Settings
from conversio_s3.store import S3Store
from conversio_s3.testing import local_s3_buckets

BUCKET = "conversio-test"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint of a moto server on 127.0.0.1, with the test credentials in the environment."""
    with local_s3_buckets(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=s3_endpoint)


@pytest.fixture
def s3_url(s3_endpoint: str) -> str:
    """The URL of an empty store: its own prefix in the test bucket."""
    return f"s3://{BUCKET}/t-{uuid.uuid4().hex[:12]}?endpoint={s3_endpoint}&path_style=1"


@pytest.fixture
def make_s3_store(s3_url: str) -> Callable[..., S3Store]:
    """``make_s3_store(default_ttl=..., part_size=...)``: a store under this test's prefix."""

    def make(**changes: Any) -> S3Store:
        return S3Store(attrs.evolve(S3Settings.from_url(s3_url), **changes))

    return make


@pytest.fixture
def store(make_s3_store: Callable[..., S3Store]) -> S3Store:
    return make_s3_store()


@pytest.fixture
def requests(store: S3Store) -> Iterator[list[tuple[str, dict[str, str]]]]:
    """The (operation, headers) of every request the store's client sends."""
    sent: list[tuple[str, dict[str, str]]] = []

    def record(request: Any, event_name: str, **kwargs: Any) -> None:
        headers = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        sent.append((event_name.rsplit(".", maxsplit=1)[-1], headers))

    store.client.meta.events.register("before-send.s3", record)
    yield sent
    store.client.meta.events.unregister("before-send.s3", record)
