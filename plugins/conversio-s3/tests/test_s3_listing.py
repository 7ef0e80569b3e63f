"""``list`` and ``sweep`` learn the artifacts from the keys of their references: a listing request
per thousand, not a read per artifact; what the keys cannot carry is read as before."""

from __future__ import annotations

import io
import json
from typing import Any

from conversio_s3.layout import MAX_KEY_BYTES
from conversio_s3.store import S3Store

from conversio.stores.base import Artifact

Requests = list[tuple[str, dict[str, str]]]


def operations(requests: Requests) -> set[str]:
    return {operation for operation, _ in requests}


def put(store: S3Store, content: bytes, name: str = "a.txt", ttl: float | None = None) -> Artifact:
    return store.put_stream(io.BytesIO(content), name=name, format="txt", ttl=ttl)


def test_list_and_sweep_read_no_object(store: S3Store, requests: Requests) -> None:
    made = [put(store, f"file {i}".encode(), f"{i}.txt", ttl=60 if i % 2 else None) for i in range(6)]
    store.cache_put("ab", [made[0].id, made[2].id])
    store.cache_put("cd", [made[1].id])
    requests.clear()
    assert list(store.list()) == made
    assert operations(requests) == {"ListObjectsV2"}
    requests.clear()
    assert store.sweep(now=made[-1].created + 61) == 3
    assert operations(requests) == {"ListObjectsV2", "DeleteObjects", "ListMultipartUploads"}
    assert [a.id for a in store.list()] == [made[0].id, made[2].id, made[4].id]
    assert store.cache_get("ab") == [made[0].id, made[2].id]
    assert store.cache_get("cd") is None


def test_a_name_too_long_for_a_key_is_read_from_the_metadata(store: S3Store, requests: Requests) -> None:
    name = "é" * MAX_KEY_BYTES + ".txt"
    long, short = put(store, b"long", name, ttl=60), put(store, b"short")
    assert store.layout.ref_keys(long)[0] == store.layout.ref_keys(long)[1]  # the key has no record
    requests.clear()
    assert list(store.list()) == [long, short]
    assert [operation for operation, _ in requests].count("GetObject") == 1
    assert store.sweep(now=long.created + 61) == 1
    assert list(store.list()) == [short]


def test_a_cache_entry_with_more_ids_than_a_key_holds_is_kept_in_its_content(store: S3Store) -> None:
    ids = [put(store, f"page {i}".encode()).id for i in range(45)]
    store.cache_put("ef", ids)
    assert store.cache_get("ef") == ids
    store.delete(ids[-1])
    store.sweep()
    assert store.cache_get("ef") is None


def test_what_the_first_layout_wrote_is_still_read(store: S3Store, s3_client: Any) -> None:
    """Before references carried records: ``refs/<sha>/<id>`` and ``cache/<key>.json``."""
    old, kept = put(store, b"old", ttl=60), put(store, b"kept")
    bucket, prefix = store.settings.bucket, store.settings.prefix
    for artifact in (old, kept):
        full, bare = store.layout.ref_keys(artifact)
        s3_client.copy_object(Bucket=bucket, Key=bare, CopySource={"Bucket": bucket, "Key": full})
        s3_client.delete_object(Bucket=bucket, Key=full)
    legacy_cache = f"{prefix}/cache/ab.json"
    s3_client.put_object(Bucket=bucket, Key=legacy_cache, Body=json.dumps({"artifacts": [kept.id]}))
    assert list(store.list()) == [old, kept]
    assert store.sweep(now=old.created + 61) == 1
    assert list(store.list()) == [kept]
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/cache/")
    store.delete(kept.id)
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/")
