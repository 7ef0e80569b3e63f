"""Links the store signs itself: a plain HTTP GET of one downloads the artifact from S3, named and
typed as asked; a link never outlives the week S3 signs for; a real object server (SeaweedFS: moto
checks neither) refuses a link once it has expired, and one that was changed."""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from urllib.parse import parse_qs, urlsplit

import attrs
import boto3
import pytest
from conversio_s3.settings import S3Settings
from conversio_s3.store import MAX_PRESIGNED, S3Store
from conversio_s3.testing import TEST_ENVIRONMENT, local_object_server

from conversio.stores.base import PresigningStore

DISPOSITION = "attachment; filename=\"r_sum_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"


def fetch(url: str) -> tuple[bytes, Message]:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(url, timeout=10) as response:
        return response.read(), response.headers


def test_a_presigned_link_downloads_the_content_named_and_typed(store: S3Store) -> None:
    assert isinstance(store, PresigningStore)
    artifact = store.put_stream(io.BytesIO(b"%PDF-1.7 shared"), name="a.pdf", format="pdf")
    url = store.presigned_url(artifact, expires_in=60, disposition=DISPOSITION, media_type="application/pdf")
    assert urlsplit(url).netloc == urlsplit(store.settings.endpoint or "").netloc
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Expires"] == ["60"]
    content, headers = fetch(url)
    assert content == b"%PDF-1.7 shared"
    assert headers["Content-Disposition"] == DISPOSITION
    assert headers["Content-Type"] == "application/pdf"


def test_a_link_lives_a_week_at_most(store: S3Store) -> None:
    artifact = store.put_stream(io.BytesIO(b"x"), name="x.bin", format="bin")
    url = store.presigned_url(artifact, expires_in=10**8, disposition="attachment", media_type="a/b")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(MAX_PRESIGNED)]


def test_links_name_the_public_endpoint_when_there_is_one(store: S3Store) -> None:
    """The server's address on a private network is not the one a browser reaches."""
    endpoint = store.settings.endpoint or ""
    public = endpoint.replace("127.0.0.1", "localhost")
    outside = S3Store(attrs.evolve(store.settings, public_endpoint=public))
    artifact = outside.put_stream(io.BytesIO(b"from outside"), name="o.txt", format="txt")
    url = outside.presigned_url(artifact, expires_in=60, disposition="attachment", media_type="text/plain")
    assert url.startswith(public + "/") and fetch(url)[0] == b"from outside"


@pytest.mark.parametrize("expires_in", [0, -5])
def test_a_link_expiring_now_is_signed_for_a_second(store: S3Store, expires_in: int) -> None:
    artifact = store.put_stream(io.BytesIO(b"x"), name="x.bin", format="bin")
    url = store.presigned_url(artifact, expires_in=expires_in, disposition="attachment", media_type="a/b")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["1"]


@pytest.fixture(scope="module")
def checking_store(s3_endpoint: str) -> Iterator[S3Store]:
    """A store on SeaweedFS, which checks every signature and expiry (``s3_endpoint``: the test
    credentials are in the environment)."""
    with local_object_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="links")
        yield S3Store(S3Settings.from_url(f"s3://links/t?endpoint={endpoint}&path_style=1", TEST_ENVIRONMENT))


def refusal(url: str) -> tuple[int, str]:
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(url)
    return caught.value.code, caught.value.read().decode()


def test_a_real_server_refuses_a_link_that_expired_or_was_changed(checking_store: S3Store) -> None:
    artifact = checking_store.put_stream(io.BytesIO(b"brief"), name="b.txt", format="txt")
    url = checking_store.presigned_url(
        artifact, expires_in=1, disposition="attachment", media_type="text/plain"
    )
    assert fetch(url)[0] == b"brief"
    changed = url.replace("text%2Fplain", "text%2Fhtml")
    assert changed != url and refusal(changed)[0] == 403
    time.sleep(2.2)
    status, body = refusal(url)
    assert status == 403 and "expired" in body
