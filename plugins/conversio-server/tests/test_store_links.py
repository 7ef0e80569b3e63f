"""Download links presigned by S3 (``download_links = "store"``), against a real server on the S3 store
of a local S3 server: every link the server hands out — an upload's, a conversion's, a job's and its
webhook's, ConvertAPI's ``Url`` — downloads from S3 itself with a plain HTTP client, the file named
and typed right, for no longer than ``signed_url_ttl`` nor the file's own life; only the key that owns
a file gets its link. With ``download_links = "server"`` the links stay the server's own; a store
that cannot sign its links is refused at start."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from conftest import LiveServer, dev_settings, needs, start_server
from conversio_server.signing import SignedLinks, StoreLinks
from jobs_support.receiver import Receiver
from PIL import Image
from server_samples import png_bytes
from test_tenancy import client, keyed_settings, make_keys, wait_job

from conversio import Conversio
from conversio.errors import ConversioError

needs("image", "s3")

from conversio_s3.store import S3Store  # noqa: E402
from conversio_s3.testing import local_s3_buckets  # noqa: E402

PNG = png_bytes((40, 30), (200, 60, 10))
BUCKET = "links"
TTL = 300


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3 server with one bucket; the test credentials in the environment (the job workers'
    processes inherit them)."""
    with local_s3_buckets(BUCKET) as endpoint:
        yield endpoint


def store_url(endpoint: str) -> str:
    return f"s3://{BUCKET}/{uuid.uuid4().hex[:12]}?endpoint={endpoint}&path_style=1&ttl=3600"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    settings = keyed_settings(
        tmp_path_factory.mktemp("store-links"),
        store_url=store_url(s3_endpoint),
        download_links="store",
        signed_url_ttl=TTL,
        url_allow=("127.0.0.1",),
        webhook_dispatchers=1,
    )
    keys = make_keys(settings, a="read,convert", b="read,convert")
    live = start_server(settings)
    yield live, keys
    live.stop()


def fetch(url: str) -> httpx.Response:
    """A plain GET: no key, no proxy, nothing the server set up."""
    with httpx.Client(trust_env=False, timeout=30) as plain:
        reply = plain.get(url)
    assert reply.status_code == 200, reply.text
    return reply


def assert_presigned(url: str, endpoint: str, filename: str, media_type: str) -> bytes:
    """``url`` is S3's, signed for at most ``TTL`` seconds; GET it: the file's content, named and typed."""
    assert url.startswith(f"{endpoint}/{BUCKET}/"), url
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert TTL - 5 <= int(query["X-Amz-Expires"][0]) <= TTL
    reply = fetch(url)
    assert reply.headers["content-type"] == media_type
    assert f"filename*=UTF-8''{quote(filename, safe='')}" in reply.headers["content-disposition"] or (
        f'filename="{filename}"' in reply.headers["content-disposition"]
    )
    return reply.content


def decoded(content: bytes) -> tuple[str | None, tuple[int, int]]:
    with Image.open(io.BytesIO(content)) as image:
        return image.format, image.size


def test_upload_and_conversion_links_download_from_s3(
    server: tuple[LiveServer, dict[str, str]], s3_endpoint: str
) -> None:
    live, keys = server
    with client(live, keys["a"]) as a:
        reply = a.post("/v1/files", files={"file": ("a.png", PNG)})
        assert reply.status_code == 201, reply.text
        upload = reply.json()["files"][0]
        assert assert_presigned(upload["downloadUrl"], s3_endpoint, "a.png", "image/png") == PNG
        assert a.get(f"/v1/files/{upload['id']}").json()["downloadUrl"].startswith(s3_endpoint)

        reply = a.post(
            "/v1/convert", json={"inputs": [{"fileId": upload["id"]}], "outputFormat": "jpg", "store": True}
        )
        assert reply.status_code == 200, reply.text
        result = reply.json()["files"][0]
        content = assert_presigned(result["downloadUrl"], s3_endpoint, result["name"], "image/jpeg")
        assert decoded(content) == ("JPEG", (40, 30))
        assert content == a.get(f"/v1/files/{result['id']}/content").content  # what the server serves


def test_job_and_webhook_links_download_from_s3(
    server: tuple[LiveServer, dict[str, str]], s3_endpoint: str, receiver: Receiver
) -> None:
    """The job worker (a process of its own) presigns its outputs' links, and those of its webhooks."""
    live, keys = server
    with client(live, keys["a"]) as a:
        file_id = a.post("/v1/files", files={"file": ("job.png", PNG)}).json()["files"][0]["id"]
        reply = a.post(
            "/v1/jobs",
            json={
                "inputs": [{"fileId": file_id}],
                "outputFormat": "gif",
                "webhook": f"{receiver.url}/hook/s3",
            },
        )
        assert reply.status_code == 202, reply.text
        output = wait_job(a, reply.json()["jobId"])["outputs"][0]
    content = assert_presigned(output["downloadUrl"], s3_endpoint, output["name"], "image/gif")
    assert decoded(content) == ("GIF", (40, 30))
    done = receiver.wait_for(lambda r: r.path == "/hook/s3" and r.json()["event"] == "job.completed")
    hooked = done[0].json()["output"]
    assert assert_presigned(hooked["url"], s3_endpoint, hooked["filename"], "image/gif") == content


def test_convertapi_urls_download_from_s3_under_the_name_asked_for(
    server: tuple[LiveServer, dict[str, str]], s3_endpoint: str
) -> None:
    live, keys = server
    with client(live, keys["a"]) as a:
        reply = a.post(
            "/upload", content=PNG, headers={"Content-Disposition": 'attachment; filename="c.png"'}
        )
        assert reply.status_code == 200, reply.text
        data = {"File": reply.json()["FileId"], "StoreFile": "true", "FileName": "résumé"}
        reply = a.post("/convert/png/to/jpg", data=data)
        assert reply.status_code == 200, reply.text
    stored = reply.json()["Files"][0]
    assert stored["FileName"] == "résumé.jpg"
    content = assert_presigned(stored["Url"], s3_endpoint, "résumé.jpg", "image/jpeg")
    assert decoded(content) == ("JPEG", (40, 30))


def test_only_the_owner_gets_a_link(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, keys = server
    with client(live, keys["a"]) as a, client(live, keys["b"]) as b:
        file_id = a.post("/v1/files", files={"file": ("mine.png", PNG)}).json()["files"][0]["id"]
        for url in (f"/v1/files/{file_id}", f"/v1/files/{file_id}/content"):
            reply = b.get(url)
            assert reply.status_code == 404 and "X-Amz" not in reply.text, reply.text


def test_a_link_never_outlives_its_file(s3_endpoint: str) -> None:
    store = S3Store.from_url(store_url(s3_endpoint))
    artifact = store.put_stream(io.BytesIO(PNG), name="brief.png", format="png", ttl=30)
    links = SignedLinks(b"secret", ttl=TTL, store=StoreLinks(store, lambda fmt: f"image/{fmt}"))
    url = links.content_url(artifact, "http://unused.invalid")
    assert 28 <= int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0]) <= 30
    assert fetch(url).content == PNG


def test_with_server_links_the_links_are_the_servers(tmp_path: Path, s3_endpoint: str) -> None:
    live = start_server(dev_settings(tmp_path, store_url=store_url(s3_endpoint), signed_url_ttl=TTL))
    try:
        with live.client() as http:
            upload = http.post("/v1/files", files={"file": ("s.png", PNG)}).json()["files"][0]
        url = urlsplit(upload["downloadUrl"])
        query = parse_qs(url.query)
        assert f"{url.scheme}://{url.netloc}" == live.url and url.path == f"/v1/files/{upload['id']}/content"
        assert set(query) == {"expires", "signature"}
        assert time.time() + TTL - 5 <= int(query["expires"][0]) <= time.time() + TTL
        assert fetch(upload["downloadUrl"]).content == PNG
    finally:
        live.stop()


def test_a_store_that_cannot_sign_is_refused_at_start(tmp_path: Path) -> None:
    settings = dev_settings(tmp_path, download_links="store")  # the default store: files on this host
    engine = sa.create_engine(settings.database_url)
    try:
        with pytest.raises(ConversioError) as caught:
            SignedLinks.of(settings, engine, Conversio(store=settings.store_url, executor="inline"))
    finally:
        engine.dispose()
    assert caught.value.code == "INVALID_OPTION"
    assert "download_links" in caught.value.message and str(tmp_path) not in caught.value.message
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONVERSIO_")}
    for command in ("worker", "serve"):  # each refuses before it starts, in one line
        done = subprocess.run(
            [sys.executable, "-m", "conversio", command, "--data-dir", str(tmp_path / command), "--dev"],
            env={**environment, "CONVERSIO_SERVER_DOWNLOAD_LINKS": "store"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2, (command, done.stderr[-2000:])
        error = [line for line in done.stderr.splitlines() if line.startswith("error ")]
        assert len(error) == 1 and error[0].startswith("error INVALID_OPTION: download_links = store")
        assert "Traceback" not in done.stderr and str(tmp_path) not in error[0]
