"""The API the web page needs besides the rest: ``GET /v1/me``, ``GET /v1/files`` (each key its own
files, newest first) and ``GET /v1/formats/{name}/targets``, against real servers (with keys, and
``--dev``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from conftest import LiveServer, needs, start_server
from server_samples import png_bytes
from test_tenancy import keyed_settings, make_keys

needs("image", "pdf")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    settings = keyed_settings(tmp_path_factory.mktemp("web-api"), job_workers=0)
    keys = make_keys(settings, a="read,convert", b="read,convert", admin="read,admin", writer="convert")
    live = start_server(settings)
    yield live, keys
    live.stop()


def as_key(live: LiveServer, key: str) -> httpx.Client:
    return live.client(headers={"Authorization": f"Bearer {key}"})


def upload(http: httpx.Client, name: str, content: bytes) -> str:
    response = http.post("/v1/files", files={"file": (name, content)})
    assert response.status_code == 201, response.text
    return str(response.json()["files"][0]["id"])


def listed(http: httpx.Client, **params: int) -> list[dict[str, object]]:
    response = http.get("/v1/files", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["files"])


def test_me_names_the_key_its_tier_and_scopes(keyed: tuple[LiveServer, dict[str, str]]) -> None:
    live, keys = keyed
    with as_key(live, keys["a"]) as http:
        me = http.get("/v1/me")
    assert me.status_code == 200
    assert me.json() == {"dev": False, "name": "a", "tier": "t", "scopes": ["convert", "read"]}


def test_me_refuses_a_wrong_key_and_one_without_read(keyed: tuple[LiveServer, dict[str, str]]) -> None:
    live, keys = keyed
    with as_key(live, "cv_not_a_key") as http:
        wrong = http.get("/v1/me")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "UNAUTHORIZED"
    with live.client() as http:
        assert http.get("/v1/me").json()["error"]["code"] == "UNAUTHORIZED"
    with as_key(live, keys["writer"]) as http:
        refused = http.get("/v1/me")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["requiredScope"] == "read"


def test_me_in_development_mode(client: httpx.Client) -> None:
    me = client.get("/v1/me").json()
    assert me["dev"] is True and "read" in me["scopes"]


def test_each_key_lists_only_its_own_files_newest_first(keyed: tuple[LiveServer, dict[str, str]]) -> None:
    live, keys = keyed
    with as_key(live, keys["a"]) as a, as_key(live, keys["b"]) as b, as_key(live, keys["admin"]) as admin:
        a_ids = [upload(a, f"a{i}.png", png_bytes((10 + i, 10))) for i in range(3)]
        # the same bytes as a's last file: b's own id, listed for b only
        b_ids = [upload(b, "b.png", png_bytes((12, 10)))]
        a_files = listed(a)
        assert [f["id"] for f in a_files] == a_ids[::-1]
        assert [f["name"] for f in a_files] == ["a2.png", "a1.png", "a0.png"]
        assert {f["format"] for f in a_files} == {"png"}
        first = a_files[0]
        assert set(first) >= {"size", "createdAt", "expiresAt", "contentUrl", "downloadUrl"}
        assert [f["id"] for f in listed(b)] == b_ids
        assert [f["id"] for f in listed(a, limit=2)] == a_ids[:0:-1]
        # another key's listing never names a's files, and a deleted file leaves a's listing
        assert a.delete(f"/v1/files/{a_ids[1]}").status_code == 204
        assert [f["id"] for f in listed(a)] == [a_ids[2], a_ids[0]]
        assert not set(a_ids) & {f["id"] for f in listed(b)}
        # an admin key lists every key's files
        assert {a_ids[0], a_ids[2], *b_ids} <= {f["id"] for f in listed(admin)}


def test_the_listing_limit_is_bounded(client: httpx.Client) -> None:
    for limit in (0, 1001):
        refused = client.get("/v1/files", params={"limit": limit})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_REQUEST"


def test_development_mode_lists_every_stored_file(client: httpx.Client) -> None:
    stored = upload(client, "dev.png", png_bytes((7, 7)))
    assert listed(client, limit=1)[0]["id"] == stored


def test_targets_of_a_format_carry_their_kind(client: httpx.Client) -> None:
    answer = client.get("/v1/formats/jpeg/targets")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["format"] == "jpg"
    kinds = {t["name"]: t["kind"] for t in body["targets"]}
    assert kinds["png"] == "image" and kinds["pdf"] == "document"
    assert all(t["description"] for t in body["targets"])
    names = [t["name"] for t in body["targets"]]
    assert names == sorted(names) and "jpg" not in names
    # the same formats the router reaches, by name
    route = client.get("/v1/route", params={"from": "jpg", "to": names[-1]})
    assert route.status_code == 200


def test_targets_of_an_unknown_format_are_a_coded_error(client: httpx.Client) -> None:
    answer = client.get("/v1/formats/nosuchformat/targets")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_secret_options_say_so_and_show_no_default(client: httpx.Client) -> None:
    """The page's option forms make secret options password fields: the schema must say which."""
    specs = client.get("/v1/converters", params={"from": "pdf", "to": "pdf"}).json()["converters"]
    options = {o["name"]: o for s in specs if s["operation"] == "encrypt" for o in s["options"]}
    assert options["user_password"]["secret"] is True and "default" not in options["user_password"]
    assert all("secret" not in o for name, o in options.items() if "password" not in name)
