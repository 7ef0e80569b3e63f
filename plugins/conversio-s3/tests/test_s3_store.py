"""What only the S3 store does: parts, ranges, one object per content, sweeping objects, and
failures of the service told as coded errors without a secret."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conversio_s3.layout import Layout
from conversio_s3.settings import DEFAULT_PART_SIZE, S3Settings
from conversio_s3.store import STALE_AFTER, S3Store
from conversio_s3.testing import free_port

from conversio.errors import ConversioError
from conversio.stores.base import Artifact
from conversio.testing import make_conversio

MiB = 1 << 20
StoreFactory = Callable[..., S3Store]


def big_file(path: Path, size: int) -> str:
    """Write ``size`` bytes that do not repeat within a part; return their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for i in range(0, size, 32 * 1024):
            block = hashlib.sha256(str(i).encode()).digest() * 1024
            block = block[: size - i]
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def keys(store: S3Store) -> list[str]:
    """Every key under the store's prefix, relative to it."""
    listing = store.client.list_objects_v2(Bucket=store.settings.bucket, Prefix=store.settings.prefix + "/")
    return sorted(
        item["Key"].removeprefix(store.settings.prefix + "/") for item in listing.get("Contents", [])
    )


def ref(store: S3Store, artifact: Artifact) -> str:
    """The key of ``artifact``'s reference, relative to the prefix."""
    return store.layout.ref_keys(artifact)[0].removeprefix(store.settings.prefix + "/")


def test_a_large_file_goes_up_in_parts(store: S3Store, tmp_path: Path) -> None:
    size = 21 * MiB
    sha = big_file(tmp_path / "big.bin", size)
    artifact = store.put_file(tmp_path / "big.bin", name="big.bin", format="bin")
    assert (artifact.size, artifact.sha256) == (size, sha)
    head = store.client.head_object(
        Bucket=store.settings.bucket, Key=f"{store.settings.prefix}/blobs/{sha[:2]}/{sha}"
    )
    parts = -(-size // DEFAULT_PART_SIZE)
    assert head["ETag"].strip('"').endswith(f"-{parts}")  # S3's own count of the parts it joined
    with store.local_path(artifact.id) as path:
        assert path.stat().st_size == size
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha


def test_open_reads_a_range_without_fetching_the_rest(
    store: S3Store, tmp_path: Path, requests: list[tuple[str, dict[str, str]]]
) -> None:
    size = 21 * MiB
    big_file(tmp_path / "big.bin", size)
    expected = (tmp_path / "big.bin").read_bytes()
    artifact = store.put_file(tmp_path / "big.bin", name="big.bin", format="bin")
    requests.clear()
    with store.open(artifact.id) as stream:  # asks for its first window at once (that checks the blob)
        stream.seek(15 * MiB + 7)
        assert stream.read(1000) == expected[15 * MiB + 7 : 15 * MiB + 1007]
    ranges = [
        headers["Range"].removeprefix("bytes=").split("-") for _, headers in requests if "Range" in headers
    ]
    assert [int(start) for start, _ in ranges] == [0, 15 * MiB + 7]
    assert sum(int(end) - int(start) + 1 for start, end in ranges) <= 2 * MiB  # of 21
    requests.clear()
    with store.open(artifact.id) as stream:
        assert hashlib.sha256(stream.read()).digest() == hashlib.sha256(expected).digest()
    gets = [headers for _, headers in requests if "Range" in headers]
    assert 1 < len(gets) <= 6  # growing windows: a handful of requests for the whole object


def test_equal_content_is_one_object_and_goes_up_once(
    store: S3Store, tmp_path: Path, requests: list[tuple[str, dict[str, str]]]
) -> None:
    (tmp_path / "a.txt").write_bytes(b"the same words")
    first = store.put_file(tmp_path / "a.txt", name="a.txt", format="txt")
    requests.clear()
    second = store.put_stream(io.BytesIO(b"the same words"), name="b.txt", format="txt")
    assert first.sha256 == second.sha256 and first.id != second.id
    blob = f"blobs/{first.sha256[:2]}/{first.sha256}"
    assert [k for k in keys(store) if k.startswith("blobs/")] == [blob]
    puts = [operation for operation, _ in requests if operation in ("PutObject", "CreateMultipartUpload")]
    assert puts == ["PutObject", "PutObject"]  # the reference and the metadata: no second upload
    assert sorted(keys(store)) == sorted(
        [
            blob,
            f"meta/{first.id}.json",
            f"meta/{second.id}.json",
            ref(store, first),
            ref(store, second),
        ]
    )


def test_sweep_removes_the_objects_of_expired_artifacts(store: S3Store) -> None:
    gone = store.put_stream(io.BytesIO(b"expiring"), name="e", format="bin", ttl=10)
    kept = store.put_stream(io.BytesIO(b"kept"), name="k", format="bin")
    store.cache_put("aa", [gone.id])
    store.cache_put("bb", [kept.id])
    assert store.sweep(now=gone.created + 11) == 1
    assert keys(store) == sorted(
        [
            f"blobs/{kept.sha256[:2]}/{kept.sha256}",
            f"cache/bb/i.{kept.id}",
            f"meta/{kept.id}.json",
            ref(store, kept),
        ]
    )
    assert store.cache_get("bb") == [kept.id]


def test_sweep_removes_what_a_writer_that_died_left(store: S3Store) -> None:
    kept = store.put_stream(io.BytesIO(b"kept"), name="k", format="bin")
    orphan = hashlib.sha256(b"orphan").hexdigest()
    bucket, prefix = store.settings.bucket, store.settings.prefix
    store.client.put_object(Bucket=bucket, Key=f"{prefix}/refs/{orphan}/Zz_never_announced_000", Body=b"")
    store.client.put_object(Bucket=bucket, Key=f"{prefix}/blobs/{orphan[:2]}/{orphan}", Body=b"orphan")
    half = hashlib.sha256(b"half uploaded").hexdigest()
    store.client.create_multipart_upload(Bucket=bucket, Key=f"{prefix}/blobs/{half[:2]}/{half}")
    assert store.sweep() == 0
    assert len(keys(store)) == 5  # a fresh reference may be a writer still at work: kept
    assert store.sweep(now=time.time() + 2 * STALE_AFTER) == 0
    assert not [k for k in keys(store) if orphan in k]
    assert not store.client.list_multipart_uploads(Bucket=bucket, Prefix=prefix + "/").get("Uploads")
    with store.open(kept.id) as stream:
        assert stream.read() == b"kept"


def test_a_blob_freed_by_another_host_while_storing_it_goes_up_again(store: S3Store) -> None:
    first = store.put_stream(io.BytesIO(b"shared content"), name="a", format="bin")
    blob = f"{store.settings.prefix}/blobs/{first.sha256[:2]}/{first.sha256}"
    other = S3Store(store.settings)  # another host, deleting the only artifact with that content
    other.client.delete_objects(  # its first steps: metadata, reference, and no reference left
        Bucket=store.settings.bucket,
        Delete={"Objects": [{"Key": k} for k in keys(store) if not k.startswith("blobs/")]},
    )

    def free_meanwhile(request: Any, **kwargs: Any) -> None:
        if "/meta/" in request.url:  # its last step, between this writer's check and its metadata
            other.client.delete_object(Bucket=store.settings.bucket, Key=blob)

    store.client.meta.events.register("before-send.s3.PutObject", free_meanwhile)
    second = store.put_stream(io.BytesIO(b"shared content"), name="b", format="bin")
    store.client.meta.events.unregister("before-send.s3.PutObject", free_meanwhile)
    with store.open(second.id) as stream:
        assert stream.read() == b"shared content"


def test_a_sweep_keeps_the_blob_another_host_stores_while_it_lists(store: S3Store) -> None:
    other = S3Store(store.settings)  # another host, storing while this one sweeps
    stored: list[Artifact] = []
    listed = []

    def store_meanwhile(request: Any, **kwargs: Any) -> None:
        if "refs" in request.url:
            listed.append(request.url)
        elif listed and not stored:  # the sweep has listed the references: the writer's turn
            stored.append(other.put_stream(io.BytesIO(b"new content"), name="new", format="bin"))

    store.client.meta.events.register("before-send.s3.ListObjectsV2", store_meanwhile)
    store.sweep()
    store.client.meta.events.unregister("before-send.s3.ListObjectsV2", store_meanwhile)
    assert len(stored) == 1
    with store.open(stored[0].id) as stream:
        assert stream.read() == b"new content"


def test_an_expired_artifact_deleted_leaves_no_object(store: S3Store) -> None:
    artifact = store.put_stream(io.BytesIO(b"brief"), name="b", format="bin", ttl=0.5)
    assert artifact.expires is not None
    time.sleep(max(0.0, artifact.expires - time.time()) + 0.05)
    with pytest.raises(ConversioError):
        store.delete(artifact.id)  # freed, yet reported as not there
    assert keys(store) == []


def test_a_blob_gone_under_its_metadata_is_not_found(store: S3Store) -> None:
    artifact = store.put_stream(io.BytesIO(b"x"), name="x", format="bin")
    key = f"{store.settings.prefix}/blobs/{artifact.sha256[:2]}/{artifact.sha256}"
    store.client.delete_object(Bucket=store.settings.bucket, Key=key)
    for call in (lambda: store.open(artifact.id), lambda: store.local_path(artifact.id).__enter__()):
        with pytest.raises(ConversioError) as caught:
            call()
        assert caught.value.code == "FILE_NOT_FOUND"


SECRET = "wJalrXUtnFEMI-not-a-real-secret-EXAMPLEKEY"
KEY_ID = "AKIAEXAMPLENOTREAL01"


def _refused(store: S3Store) -> ConversioError:
    with pytest.raises(ConversioError) as caught:
        store.put_stream(io.BytesIO(b"never kept"), name="a.txt", format="txt")
    error = caught.value
    for call in (lambda: store.get("A" * 22), lambda: list(store.list())):
        with pytest.raises(ConversioError) as again:
            call()
        assert again.value.code == error.code
    text = f"{error} {error.details}"
    assert SECRET not in text and KEY_ID not in text and "127.0.0.1" not in text
    assert error.__cause__ is None and error.__suppress_context__
    return error


def test_an_endpoint_that_does_not_answer_is_store_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    store = S3Store.from_url(f"s3://conversio-test/x?endpoint=http://127.0.0.1:{free_port()}")
    error = _refused(store)
    assert error.code == "STORE_UNAVAILABLE" and "endpoint did not answer" in error.message


def test_missing_credentials_are_store_unavailable(
    monkeypatch: pytest.MonkeyPatch, s3_url: str, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    error = _refused(S3Store.from_url(s3_url))
    assert error.code == "STORE_UNAVAILABLE" and "no credentials" in error.message


def test_a_missing_bucket_is_store_unavailable(s3_endpoint: str) -> None:
    error = _refused(S3Store.from_url(f"s3://no-such-bucket/x?endpoint={s3_endpoint}&path_style=1"))
    assert error.code == "STORE_UNAVAILABLE" and "bucket does not exist" in error.message


def test_settings_come_from_the_url_then_the_environment() -> None:
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-west-3"}
    plain = S3Settings.from_url("s3://bucket/some/prefix/", env)
    assert (plain.bucket, plain.prefix, plain.endpoint, plain.region) == (
        "bucket",
        "some/prefix",
        "http://127.0.0.1:9000",
        "eu-west-3",
    )
    assert plain.path_style is False and Layout(plain.prefix).meta("x") == "some/prefix/meta/x.json"
    given = S3Settings.from_url(
        "s3://b?endpoint=http://127.0.0.1:1&region=r&path_style=1&ttl=60&part_size=6291456", env
    )
    assert (given.endpoint, given.region, given.path_style, given.default_ttl, given.part_size) == (
        "http://127.0.0.1:1",
        "r",
        True,
        60,
        6 * MiB,
    )
    assert given.prefix == "" and Layout(given.prefix).meta("x") == "meta/x.json"
    assert S3Settings.from_url(given.url, {}) == given
    public = S3Settings.from_url("s3://b?public_endpoint=https://files.example.com", env)
    assert (public.endpoint, public.public_endpoint) == ("http://127.0.0.1:9000", "https://files.example.com")
    assert S3Settings.from_url(public.url, {}) == public


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "file:///x",
        "s3://key:secret@bucket/x",
        "s3://b/x?colour=red",
        "s3://b/x?ttl=-1",
        "s3://b/x?ttl=soon",
        "s3://b/x?part_size=1024",
        "s3://b/x?endpoint=ftp://127.0.0.1",
        "s3://b/x?public_endpoint=files.example.com",
    ],
)
def test_bad_urls_are_invalid_options(url: str) -> None:
    with pytest.raises(ConversioError) as caught:
        S3Settings.from_url(url, {})
    assert caught.value.code == "INVALID_OPTION"
    assert "secret" not in caught.value.message


def test_the_plugin_registers_the_s3_scheme(s3_url: str) -> None:
    app = make_conversio("conversio_s3.plugin", store=s3_url)
    try:
        assert isinstance(app.store, S3Store) and app.store.url == S3Settings.from_url(s3_url).url
        artifact = app.store.put_stream(io.BytesIO(b"through conversio"), name="a.txt", format="txt")
        with app.store.open(artifact.id) as stream:
            assert stream.read() == b"through conversio"
    finally:
        app.close()
