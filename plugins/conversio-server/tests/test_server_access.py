"""The routes behind API keys: scopes, tiers' file sizes, quotas and rate limits, over a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest
from conftest import LiveServer, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.settings import ServerSettings
from conversio_server.tiers import DEFAULT_TIERS, Tier
from server_samples import png_bytes

TIERS = {
    **DEFAULT_TIERS,
    "small": Tier(
        name="small", requests_per_minute=1000, concurrent_jobs=2, max_file_bytes=3000, monthly_conversions=2
    ),
    "slow": Tier(name="slow", requests_per_minute=3),
}


@attrs.frozen
class Keys:
    read: str
    convert: str
    small: str
    slow: str


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Keys]]:
    data = tmp_path_factory.mktemp("keyed")
    database = f"sqlite:///{data / 'keys.sqlite3'}"
    with KeyStore(database) as store:
        keys = Keys(
            read=store.create("reader", "read", "enterprise")[1],
            convert=store.create("converter", "read,convert", "enterprise")[1],
            small=store.create("small", "read,convert", "small")[1],
            slow=store.create("slow", "read", "slow")[1],
        )
    settings = ServerSettings.load(
        {},
        data_dir=data,
        workers=1,
        database_url=database,
        auth=AuthConfig(database_url=database, tiers=TIERS),
    )
    server = start_server(settings)
    yield server, keys
    server.stop()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_no_key_is_401_but_health_needs_none(keyed: tuple[LiveServer, Keys]) -> None:
    server, _ = keyed
    with server.client() as client:
        response = client.get("/v1/formats")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert client.get("/v1/formats", headers=_bearer("nonsense")).status_code == 401
        assert client.get("/healthz").status_code == 200 and client.get("/metrics").status_code == 200


def test_scopes_are_enforced(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.read)) as client:
        listed = client.get("/v1/formats")
        assert listed.status_code == 200
        refused = client.post(
            "/v1/convert", files={"file": ("a.png", png_bytes())}, data={"outputFormat": "jpg"}
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
        assert client.post("/v1/files", content=b"x").status_code == 403


def test_a_key_converts_and_downloads_with_rate_limit_headers(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.convert)) as client:
        stored = client.post(
            "/v1/convert",
            files={"file": ("a.png", png_bytes())},
            data={"outputFormat": "jpg", "store": "true"},
        ).json()["files"][0]
        assert httpx.get(stored["contentUrl"]).status_code == 401  # no key, no signature
        download = client.get(stored["contentUrl"])
        assert download.status_code == 200 and download.content[:2] == b"\xff\xd8"
        assert httpx.get(stored["downloadUrl"]).content == download.content  # the signed link needs no key


def test_the_tier_caps_the_file_size_while_streaming(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.small)) as client:
        response = client.post("/v1/files", content=iter([b"\0" * 2000, b"\0" * 2000]))
        assert response.status_code == 413
        assert response.json()["error"]["details"]["limit"] == 3000


def test_the_monthly_quota_answers_403(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.small)) as client:

        def convert() -> httpx.Response:
            return client.post(
                "/v1/convert", files={"file": ("a.png", png_bytes((4, 4)))}, data={"outputFormat": "gif"}
            )

        failed = client.post(
            "/v1/convert", files={"file": ("a.png", png_bytes()[:60])}, data={"outputFormat": "gif"}
        )
        assert failed.status_code == 422  # a failed conversion is not counted
        assert convert().status_code == 200 and convert().status_code == 200
        over = convert()
        assert over.status_code == 403
        assert over.json()["error"]["code"] == "QUOTA_EXCEEDED"


def test_the_rate_limit_answers_429_with_retry_after(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.slow)) as client:
        answers = [client.get("/v1/formats") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "3"
    assert [a.headers["x-ratelimit-remaining"] for a in answers[:3]] == ["2", "1", "0"]
    refused = answers[3]
    assert refused.json()["error"]["code"] == "RATE_LIMITED" and int(refused.headers["retry-after"]) > 0


def test_jobs_belong_to_their_key(keyed: tuple[LiveServer, Keys], tmp_path: Path) -> None:
    server, keys = keyed
    from conversio_server.jobstore import NewJob

    (job,) = server.app.state.server.jobstore.create([NewJob(spec={"inputs": []}, key_id="someone-else")])
    with server.client(headers=_bearer(keys.convert)) as client:
        assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_rate_limit_headers_also_come_with_streamed_files(keyed: tuple[LiveServer, Keys]) -> None:
    server, keys = keyed
    with server.client(headers=_bearer(keys.small)) as client:
        stored = client.post("/v1/files", files={"file": ("a.png", png_bytes((3, 3)))}).json()["files"][0]
        download = client.get(stored["contentUrl"])
    assert download.status_code == 200
    assert download.headers["x-ratelimit-limit"] == "1000"
    assert int(download.headers["x-ratelimit-remaining"]) < 1000
