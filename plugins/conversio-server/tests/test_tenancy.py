"""Stored files belong to their key, against a real server with two ordinary keys and an ``admin`` key.

Key A uploads and converts (sync, job, batch, ConvertAPI with ``StoreFile``); key B tries every route on
A's file ids, job ids and links, native and ConvertAPI, with and without signatures, and gets exactly the
404 an unknown id gets. A signed link reads its one file until it expires; ``admin`` reads everything;
the same bytes uploaded by B are B's own file; A's files keep working for A throughout.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from conftest import LiveServer, needs, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.ownership import FileOwners, claim
from conversio_server.settings import ServerSettings
from conversio_server.tiers import Tier
from PIL import Image
from server_samples import png_bytes
from test_jobs import PLUGIN, TESTS

from conversio.stores.filesystem import FilesystemStore

needs("image")

PNG = png_bytes((40, 30), (10, 120, 200))


def keyed_settings(data_dir: Path, **overrides: Any) -> ServerSettings:
    """A server with API keys (one unlimited tier), one job worker, polled often."""
    database_url = f"sqlite:///{data_dir / 'server.sqlite3'}"
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "workers": 1,
        "job_workers": 1,
        "job_poll_interval": 0.05,
        "sweep_interval": 3600.0,
        "auth": AuthConfig(database_url=database_url, tiers={"t": Tier(name="t")}),
    }
    values.update(overrides)
    return ServerSettings.load(environ={}, **values)


def make_keys(settings: ServerSettings, **scopes: str) -> dict[str, str]:
    with KeyStore(settings.database_url) as keys:
        return {name: keys.create(name, scope, "t")[1] for name, scope in scopes.items()}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    # the job worker processes load the tests' plugin (a step that fails while a marker file exists)
    monkeypatch_module.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))
    )
    settings = keyed_settings(tmp_path_factory.mktemp("tenancy"), extra_plugins=(PLUGIN,))
    keys = make_keys(settings, a="read,convert", b="read,convert", admin="read,convert,admin")
    live = start_server(settings)
    yield live, keys
    live.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def client(live: LiveServer, key: str) -> httpx.Client:
    return live.client(headers={"Authorization": f"Bearer {key}"})


def decoded(content: bytes, fmt: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == fmt
        image.load()
        return image.size


def wait_job(http: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed", "cancelled"):
            assert job["status"] == "completed", job
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def wait_batch(http: httpx.Client, batch_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = http.get(f"/v1/batch/{batch_id}").json()
        if batch["status"] == "completed":
            return dict(batch)
        time.sleep(0.1)
    raise AssertionError(f"batch {batch_id} did not finish within {timeout} s")


@pytest.fixture(scope="module")
def made(server: tuple[LiveServer, dict[str, str]]) -> dict[str, Any]:
    """What key A stored and produced: ids by how they were made, their links, A's job and batch."""
    live, keys = server
    files: dict[str, dict[str, Any]] = {}
    with client(live, keys["a"]) as a:
        reply = a.post("/v1/files", files={"file": ("a.png", PNG)})
        assert reply.status_code == 201, reply.text
        files["upload"] = reply.json()["files"][0]

        reply = a.post(
            "/v1/convert",
            json={"inputs": [{"fileId": files["upload"]["id"]}], "outputFormat": "jpg", "store": True},
        )
        assert reply.status_code == 200, reply.text
        files["sync"] = reply.json()["files"][0]

        reply = a.post(
            "/v1/jobs", json={"inputs": [{"fileId": files["upload"]["id"]}], "outputFormat": "gif"}
        )
        assert reply.status_code == 202, reply.text
        job = wait_job(a, reply.json()["jobId"])
        files["job"] = job["outputs"][0]

        reply = a.post(
            "/v1/batch",
            json={"jobs": [{"inputs": [{"fileId": files["upload"]["id"]}], "outputFormat": "bmp"}]},
        )
        assert reply.status_code == 202, reply.text
        batch = wait_batch(a, reply.json()["batchId"])
        files["batch"] = wait_job(a, batch["jobs"][0]["jobId"])["outputs"][0]

        reply = a.post(
            "/upload", content=PNG, headers={"Content-Disposition": 'attachment; filename="c.png"'}
        )
        assert reply.status_code == 200, reply.text
        convertapi_upload = reply.json()["FileId"]
        files["convertapi-upload"] = a.get(f"/v1/files/{convertapi_upload}").json()
        reply = a.post(
            "/convert/png/to/jpg", data={"File": convertapi_upload, "StoreFile": "true", "Quality": "70"}
        )
        assert reply.status_code == 200, reply.text
        stored = reply.json()["Files"][0]
        files["convertapi-result"] = {**a.get(f"/v1/files/{stored['FileId']}").json(), "d": stored["Url"]}
    assert len({f["id"] for f in files.values()}) == len(files)
    return {"files": files, "job": job["jobId"], "batch": batch["batchId"]}


def missing_like(file_id: str) -> str:
    """An id of the same shape that nobody has."""
    return secrets.token_urlsafe(len(file_id))[: len(file_id)]


def assert_as_missing(
    http: httpx.Client, method: str, url: str, file_id: str, code: str = "FILE_NOT_FOUND", **kwargs: Any
) -> None:
    """``url`` (naming ``file_id``) answers exactly what it answers for an id nobody has: 404 ``code``
    (ConvertAPI: its number)."""
    other = missing_like(file_id)
    mine = http.request(method, url, **kwargs)
    theirs = http.request(method, url.replace(file_id, other), **_swapped(kwargs, file_id, other))
    assert mine.status_code == theirs.status_code == 404, (method, url, mine.text)
    assert _shape(mine, file_id) == _shape(theirs, other), (method, url)
    body = mine.json()
    assert code == body["error"]["code"] if "error" in body else body["Code"] == 4040, mine.text


def _shape(reply: httpx.Response, file_id: str) -> Any:
    """The body with the id named ``ID`` and without the per-request id."""
    body = json.loads(reply.text.replace(file_id, "ID"))
    body.get("error", {}).pop("requestId", None)
    body.pop("requestId", None)
    return body


def _swapped(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _swapped(v, old, new) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_swapped(v, old, new) for v in value)
    return value


def signed(file: dict[str, Any]) -> str:
    """The ``expires=…&signature=…`` of a file's signed link."""
    return urlsplit(file["downloadUrl"]).query


def assert_a_keeps_everything(live: LiveServer, keys: dict[str, str], made: dict[str, Any]) -> None:
    """A still reads every file it made (decoded) and sees its job and batch."""
    formats = {"upload": "PNG", "sync": "JPEG", "job": "GIF", "batch": "BMP"}
    formats.update({"convertapi-upload": "PNG", "convertapi-result": "JPEG"})
    with client(live, keys["a"]) as a:
        for kind, file in made["files"].items():
            reply = a.get(f"/v1/files/{file['id']}/content")
            assert reply.status_code == 200, (kind, reply.text)
            assert decoded(reply.content, formats[kind]) == (40, 30)
        assert a.get(f"/v1/jobs/{made['job']}").json()["outputs"][0]["id"] == made["files"]["job"]["id"]
        assert a.get(f"/v1/batch/{made['batch']}").status_code == 200


def test_another_key_gets_404_on_every_native_route(
    server: tuple[LiveServer, dict[str, str]], made: dict[str, Any]
) -> None:
    live, keys = server
    with client(live, keys["b"]) as b:
        for file in made["files"].values():
            file_id = file["id"]
            assert_as_missing(b, "GET", f"/v1/files/{file_id}", file_id)
            assert_as_missing(b, "GET", f"/v1/files/{file_id}/content", file_id)
            assert_as_missing(b, "DELETE", f"/v1/files/{file_id}", file_id)
            # a link's signature lends B's key nothing on the other routes
            assert_as_missing(b, "GET", f"/v1/files/{file_id}?{signed(file)}", file_id)
            assert_as_missing(b, "DELETE", f"/v1/files/{file_id}?{signed(file)}", file_id)
            # as an input: by id, by this server's own links (signed or not), sync, job and batch
            for ref in (
                {"fileId": file_id},
                {"url": file["downloadUrl"]},
                {"url": file["contentUrl"]},
                {"url": f"{live.url}/d/{file_id}/x.png"},
            ):
                body = {"inputs": [ref], "outputFormat": "jpg"}
                assert_as_missing(b, "POST", "/v1/convert", file_id, json=body)
                assert_as_missing(b, "POST", "/v1/jobs", file_id, json=body)
                assert_as_missing(b, "POST", "/v1/batch", file_id, json={"jobs": [body]})
            form = {"fileId": (None, file_id), "outputFormat": (None, "jpg")}
            assert_as_missing(b, "POST", "/v1/convert", file_id, files=form)
        for path in (
            f"/v1/jobs/{made['job']}",
            f"/v1/jobs/{made['job']}/events",
            f"/v1/batch/{made['batch']}",
        ):
            reply = b.get(path)
            assert reply.status_code == 404 and reply.json()["error"]["code"] == "JOB_NOT_FOUND", path
        assert b.get("/v1/jobs").json()["jobs"] == []
    assert_a_keeps_everything(live, keys, made)


def test_another_key_gets_404_on_every_convertapi_route(
    server: tuple[LiveServer, dict[str, str]], made: dict[str, Any]
) -> None:
    live, keys = server
    with live.client() as anonymous:
        for file in made["files"].values():
            file_id, secret = file["id"], {"Secret": keys["b"]}
            assert_as_missing(anonymous, "GET", f"/d/{file_id}", file_id, params=secret)
            assert_as_missing(anonymous, "GET", f"/d/{file_id}/{file['name']}", file_id, params=secret)
            assert_as_missing(anonymous, "DELETE", f"/d/{file_id}", file_id, params=secret)
            links = [
                file_id,
                file["downloadUrl"],
                f"{live.url}/d/{file_id}/x.png",
                file.get("d", file["contentUrl"]),
            ]
            for source in links:
                data = {"File": source, "StoreFile": "true"}
                assert_as_missing(anonymous, "POST", "/convert/png/to/jpg", file_id, params=secret, data=data)
            bearer = {"Authorization": f"Bearer {keys['b']}"}
            assert_as_missing(anonymous, "GET", f"/d/{file_id}", file_id, headers=bearer)
    assert_a_keeps_everything(live, keys, made)


def test_a_signed_link_reads_that_file_only(
    server: tuple[LiveServer, dict[str, str]], made: dict[str, Any]
) -> None:
    live, keys = server
    upload, result = made["files"]["upload"], made["files"]["convertapi-result"]
    with live.client() as anonymous, client(live, keys["b"]) as b:
        reply = anonymous.get(upload["downloadUrl"])
        assert reply.status_code == 200 and decoded(reply.content, "PNG") == (40, 30)
        reply = anonymous.get(result["d"])  # ConvertAPI's own link
        assert reply.status_code == 200 and decoded(reply.content, "JPEG") == (40, 30)
        assert anonymous.get(f"/d/{upload['id']}?{signed(upload)}").status_code == 200
        assert b.get(upload["downloadUrl"]).status_code == 200  # the link, whoever follows it
        # the same signature on another of A's files, or on nothing: refused
        for other in (made["files"]["sync"]["id"], missing_like(upload["id"])):
            for path in (f"/v1/files/{other}/content", f"/d/{other}"):
                reply = anonymous.get(f"{path}?{signed(upload)}")
                assert reply.status_code == 401, (path, reply.text)
        # and no key, no link: 401 as before
        assert anonymous.get(upload["contentUrl"]).status_code == 401
        assert anonymous.get(upload["url"]).status_code == 401


def test_admin_sees_every_file(server: tuple[LiveServer, dict[str, str]], made: dict[str, Any]) -> None:
    live, keys = server
    upload = made["files"]["upload"]
    with client(live, keys["admin"]) as admin:
        assert admin.get(upload["url"]).json()["sha256"] == upload["sha256"]
        reply = admin.get(upload["contentUrl"])
        assert reply.status_code == 200 and reply.content == PNG
        reply = admin.get(f"/d/{made['files']['convertapi-result']['id']}")
        assert reply.status_code == 200 and decoded(reply.content, "JPEG") == (40, 30)
        reply = admin.post("/v1/convert", json={"inputs": [{"fileId": upload["id"]}], "outputFormat": "png"})
        assert reply.status_code == 200 and decoded(reply.content, "PNG") == (40, 30)
        assert admin.get(f"/v1/jobs/{made['job']}").json()["status"] == "completed"


def test_same_bytes_are_each_keys_own_file(
    server: tuple[LiveServer, dict[str, str]], made: dict[str, Any]
) -> None:
    live, keys = server
    upload, sync = made["files"]["upload"], made["files"]["sync"]
    with client(live, keys["b"]) as b:
        mine = b.post("/v1/files", files={"file": ("a.png", PNG)}).json()["files"][0]
        assert mine["id"] != upload["id"] and mine["sha256"] == upload["sha256"]
        # the same conversion as A's (the engine's cache holds A's result): B gets a file of its own
        reply = b.post(
            "/v1/convert", json={"inputs": [{"fileId": mine["id"]}], "outputFormat": "jpg", "store": True}
        )
        assert reply.status_code == 200, reply.text
        result = reply.json()["files"][0]
        assert result["id"] != sync["id"] and result["sha256"] == sync["sha256"]
        reply = b.get(f"/v1/files/{result['id']}/content")
        assert reply.status_code == 200 and decoded(reply.content, "JPEG") == (40, 30)
        for file in (mine, result):
            assert b.delete(f"/v1/files/{file['id']}").status_code == 204
            assert b.get(file["url"]).status_code == 404
            assert b.delete(f"/v1/files/{file['id']}").status_code == 404
    assert_a_keeps_everything(live, keys, made)


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A server whose signed links last 6 s and whose sync conversions become jobs after 1 s."""
    settings = keyed_settings(
        tmp_path_factory.mktemp("short"),
        signed_url_ttl=6.0,
        sync_timeout=1.0,
        job_workers=0,
        extra_plugins=(PLUGIN,),
    )
    keys = make_keys(settings, a="read,convert", b="read,convert")
    live = start_server(settings)
    yield live, keys
    live.stop()


def test_a_signed_link_stops_at_its_expiry(short: tuple[LiveServer, dict[str, str]]) -> None:
    live, keys = short
    with client(live, keys["a"]) as a, live.client() as anonymous:
        file = a.post("/v1/files", files={"file": ("a.png", PNG)}).json()["files"][0]
        expires = int(parse_qs(signed(file))["expires"][0])
        assert expires - time.time() <= 6.0
        reply = anonymous.get(file["downloadUrl"])
        assert reply.status_code == 200 and reply.content == PNG
        time.sleep(max(0.0, expires + 1.5 - time.time()))
        for url in (file["downloadUrl"], f"{live.url}/d/{file['id']}?{signed(file)}"):
            reply = anonymous.get(url)
            assert reply.status_code == 401, reply.text
        assert a.get(file["contentUrl"]).content == PNG  # the file itself is still there


def test_a_sync_conversion_handed_off_as_a_job_keeps_its_owner(
    short: tuple[LiveServer, dict[str, str]],
) -> None:
    live, keys = short
    with client(live, keys["a"]) as a, client(live, keys["b"]) as b:
        file_id = a.post("/v1/files", files={"file": ("a.png", PNG)}).json()["files"][0]["id"]
        body = {"inputs": [{"fileId": file_id}], "then": [{"step": "sleep", "options": {"seconds": 3.0}}]}
        reply = a.post("/v1/convert", json=body)
        assert reply.status_code == 202, reply.text
        job = wait_job(a, reply.json()["jobId"])
        output = job["outputs"][0]
        reply = a.get(f"/v1/files/{output['id']}/content")
        assert reply.status_code == 200 and decoded(reply.content, "PNG") == (40, 30)
        assert_as_missing(b, "GET", f"/v1/files/{output['id']}/content", output["id"])
        assert_as_missing(b, "GET", f"/v1/jobs/{job['jobId']}", job["jobId"], "JOB_NOT_FOUND")


def test_owners_claim_copies_a_shared_result_and_prune_keeps_new_records(
    tmp_path: Path, database_url: str
) -> None:
    store = FilesystemStore(tmp_path / "store")
    owners = FileOwners(database_url)
    try:
        (tmp_path / "x.png").write_bytes(PNG)
        shared = store.put_file(tmp_path / "x.png", name="x.png", format="png")
        (a_file,) = claim(store, owners, "a", [shared], intermediate=["step-1"])
        (b_file,) = claim(store, owners, "b", [shared], intermediate=["step-1"])
        assert a_file == shared and b_file.id != shared.id and b_file.sha256 == shared.sha256
        assert [owners.owner_of(i) for i in (shared.id, b_file.id, "step-1")] == ["a", "b", "a"]
        store.delete(b_file.id)  # one key's copy goes, the other's content stays
        with store.open(shared.id) as reader:
            assert reader.read() == PNG
        listed = time.time()
        (tmp_path / "y.png").write_bytes(PNG)
        later = claim(store, owners, "b", [store.put_file(tmp_path / "y.png", name="y.png", format="png")])
        # recorded after the listing: kept even though the listing did not see it
        assert owners.prune({shared.id}, listed) == 2  # b's deleted copy and the step's id
        assert owners.owner_of(later[0].id) == "b" and owners.owner_of(shared.id) == "a"
    finally:
        owners.close()


def test_keys_recording_the_same_files_at_once_get_one_owner_each(database_url: str) -> None:
    """Six keys record the same 30 ids at once (a cached result several jobs produced): each id gets
    one owner, and every key is told exactly which of them another key owns."""
    import threading

    ids = [f"file-{n}" for n in range(30)]
    stores = [FileOwners(database_url) for _ in range(6)]
    try:
        start = threading.Barrier(len(stores), timeout=30)
        others: dict[str, set[str]] = {}

        def record(owners: FileOwners, key_id: str) -> None:
            start.wait()
            others[key_id] = owners.record(key_id, ids)

        threads = [threading.Thread(target=record, args=(o, f"k{n}")) for n, o in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        owner = {i: stores[0].owner_of(i) for i in ids}
        assert set(owner.values()) <= set(others) and None not in owner.values()
        for key_id, taken in others.items():
            assert taken == {i for i in ids if owner[i] != key_id}
    finally:
        for owners in stores:
            owners.close()


def test_a_failed_jobs_finished_steps_are_its_keys(
    server: tuple[LiveServer, dict[str, str]], made: dict[str, Any], tmp_path: Path
) -> None:
    live, keys = server
    marker = tmp_path / "fail"
    marker.write_text("x")
    spec = {
        "inputs": [{"fileId": made["files"]["upload"]["id"]}],
        "then": [
            {"step": "sleep", "options": {"seconds": 0.1}},
            {"step": "flaky", "options": {"marker": str(marker)}},
        ],
    }
    with client(live, keys["a"]) as a, client(live, keys["b"]) as b:
        job_id = a.post("/v1/jobs", json=spec).json()["jobId"]
        deadline = time.monotonic() + 60
        while (job := a.get(f"/v1/jobs/{job_id}").json())["status"] not in ("failed", "completed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "failed" and [s["status"] for s in job["steps"]] == ["completed", "failed"]
        (step_file,) = job["steps"][0]["artifacts"]
        reply = a.get(f"/v1/files/{step_file}/content")
        assert reply.status_code == 200 and decoded(reply.content, "PNG") == (40, 30)
        assert_as_missing(b, "GET", f"/v1/files/{step_file}/content", step_file)
        assert_as_missing(b, "POST", f"/v1/jobs/{job_id}/retry", job_id, "JOB_NOT_FOUND")
