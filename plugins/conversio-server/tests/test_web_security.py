"""The headers and the cross-site guard (:mod:`conversio_server.web.security`) against a real
``--dev`` server, whose API needs no key: a keyless state-changing request a browser sends from
another site is refused with a coded 403 and changes nothing; the page's own requests, API clients
(no browser headers), safe methods and requests with a key pass."""

from __future__ import annotations

import httpx
import pytest
from conversio_server.web.security import SANDBOX_POLICY
from server_samples import png_bytes

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'

#: Browser headers of requests from another site: refused when they change something without a key.
CROSS_SITE = {
    "fetch metadata, cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    "fetch metadata, same-site": {"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"},
    "fetch metadata without origin": {"Sec-Fetch-Site": "cross-site"},
    "foreign origin, no fetch metadata": {"Origin": "https://evil.example"},
    "opaque origin": {"Origin": "null"},
    "same host, other port": {"Origin": "http://127.0.0.1:1"},
}


def same_site(client: httpx.Client) -> dict[str, dict[str, str]]:
    """Requests that pass: the page's own (by fetch metadata or origin), typed URLs, API clients."""
    own = str(client.base_url).rstrip("/")
    return {
        "the page": {"Sec-Fetch-Site": "same-origin", "Origin": own},
        "an older browser on the page": {"Origin": own},
        "a typed URL": {"Sec-Fetch-Site": "none"},
        "an API client": {},
    }


def stored_count(client: httpx.Client) -> int:
    return len(client.get("/v1/files", params={"limit": 1000}).json()["files"])


def job_count(client: httpx.Client) -> int:
    return len(client.get("/v1/jobs", params={"limit": 1000}).json()["jobs"])


def store(client: httpx.Client, name: str, content: bytes) -> dict[str, str]:
    response = client.post("/v1/files", files={"file": (name, content)})
    assert response.status_code == 201, response.text
    return dict(response.json()["files"][0])


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_keyless_changes_from_another_site_are_refused(client: httpx.Client, headers: dict[str, str]) -> None:
    kept = store(client, "kept.png", png_bytes((9, 9)))
    before, jobs = stored_count(client), job_count(client)
    attempts = [
        client.post("/v1/files", files={"file": ("x.png", png_bytes())}, headers=headers),
        client.post(
            "/v1/convert",
            files={"file": ("x.png", png_bytes())},
            data={"outputFormat": "jpg"},
            headers=headers,
        ),
        client.post(
            "/v1/jobs", json={"inputs": [{"fileId": kept["id"]}], "outputFormat": "jpg"}, headers=headers
        ),
        client.delete(f"/v1/files/{kept['id']}", headers=headers),
        # a plain HTML form's post, the classic cross-site request
        client.post(
            "/convert/png/to/jpg", content=b"File=x", headers={**headers, "Content-Type": "text/plain"}
        ),
    ]
    for response in attempts:
        assert response.status_code == 403, response.request.url
        error = response.json()["error"]
        assert error["code"] == "FORBIDDEN" and error["details"]["reason"] == "cross-site"
        assert error["requestId"] == response.headers["x-request-id"]
        assert "another site" in error["message"]
    assert stored_count(client) == before
    assert client.get(f"/v1/files/{kept['id']}").status_code == 200
    assert job_count(client) == jobs


def test_the_page_api_clients_and_keyed_requests_pass(client: httpx.Client) -> None:
    for name, headers in same_site(client).items():
        response = client.post("/v1/files", files={"file": (f"{name}.png", png_bytes())}, headers=headers)
        assert response.status_code == 201, name
        deleted = client.delete(f"/v1/files/{response.json()['files'][0]['id']}", headers=headers)
        assert deleted.status_code == 204, name
    # with a key (ignored in --dev), another site's script could only have sent it after a CORS
    # preflight, which the server never grants: not the guard's business
    keyed = {**CROSS_SITE["fetch metadata, cross-site"], "Authorization": "Bearer anything"}
    assert client.post("/v1/files", files={"file": ("k.png", png_bytes())}, headers=keyed).status_code == 201


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_reading_from_another_site_is_not_the_guards_business(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    """Safe methods change nothing; reading another origin's answer is what CORS (never granted) stops."""
    assert client.get("/v1/formats", headers=headers).status_code == 200
    assert client.get("/", headers=headers).status_code == 200


def test_every_api_response_is_nosniff_and_sandboxed(client: httpx.Client) -> None:
    for response in (
        client.get("/v1/formats"),
        client.get("/v1/files/nosuchfile"),
        client.get("/healthz"),
        client.post("/v1/convert", content=b"{", headers={"Content-Type": "application/json"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers["content-security-policy"] == SANDBOX_POLICY, response.request.url


@pytest.mark.parametrize(("name", "content"), [("page.html", b"<script>alert(1)</script>"), ("pic.svg", SVG)])
def test_a_users_html_or_svg_cannot_run_when_opened(client: httpx.Client, name: str, content: bytes) -> None:
    stored = store(client, name, content)
    for url in (stored["contentUrl"], stored["downloadUrl"]):
        response = client.get(url)
        assert response.status_code == 200 and response.content == content
        assert response.headers["content-security-policy"] == SANDBOX_POLICY
        assert "sandbox" in response.headers["content-security-policy"].split("; ")
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_interactive_api_docs_keep_working(client: httpx.Client) -> None:
    """Swagger UI loads its own scripts: only nosniff is added there."""
    response = client.get("/docs")
    assert response.status_code == 200
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
